/* tinygen application interface: what a board's start-up code calls.
 *
 * Every app in firmware/apps/<app>/ defines these two functions; the board glue
 * (firmware/boards/<family>/) calls tg_board_init(), then tg_app_setup() once, then
 * tg_app_loop() forever. See firmware/apps/README.md.
 */
#ifndef TINYGEN_TG_APP_H_
#define TINYGEN_TG_APP_H_

#ifdef __cplusplus
extern "C" {
#endif

void tg_app_setup(void);
void tg_app_loop(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_APP_H_ */
