/* tinygen AOT runtime: the optimisation level the kernels are compiled at, whatever the build's flags.
 *
 * Boards' frameworks build for size (-Os: the tinygen QEMU platform, Arduino cores), which costs
 * the kernels a third of their speed: loops are not unrolled, small helpers are not inlined. Every
 * kernel source includes this header first, so GCC compiles the functions that follow at -O2
 * (GCC 7 and later honour the pragma per function). Builds without optimisation (-O0, for
 * debugging) are left alone, and -DTG_AOT_KEEP_FLAGS keeps the build's own level everywhere.
 * Clang has no such pragma; build with -O2 there.
 */
#ifndef TINYGEN_TG_AOT_OPT_H_
#define TINYGEN_TG_AOT_OPT_H_

#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__) && !defined(TG_AOT_KEEP_FLAGS)
#pragma GCC optimize("O2")
#endif

#endif /* TINYGEN_TG_AOT_OPT_H_ */
