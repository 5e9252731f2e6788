// tinygen per-op profile on TFLM (firmware/profile/tg_profile.h): TFLM's MicroProfiler interface
// gets a BeginEvent/EndEvent pair around every op it invokes; events outside any other are the main
// subgraph's ops, numbered in execution order (TFLM runs them in model order). Built only into the
// `profile` app (TG_PROFILE), passed to the MicroInterpreter by tg_runtime_tflm.cc.
#ifdef TG_PROFILE
#include <stdint.h>

#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tg_profile.h"

namespace {

class OpProfiler : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char *tag) override {
    (void)tag;
    if (depth_++ == 0) tg_profile_mark(next_++);
    return 0;
  }
  void EndEvent(uint32_t event_handle) override {
    (void)event_handle;
    if (depth_ > 0 && --depth_ == 0) tg_profile_mark(-1);
  }
  void Start() { next_ = depth_ = 0; }

 private:
  int32_t next_ = 0;
  int32_t depth_ = 0;
};

OpProfiler profiler;

}  // namespace

tflite::MicroProfilerInterface *tg_tflm_profiler() { return &profiler; }
void tg_tflm_profile_start() { profiler.Start(); }
#endif  // TG_PROFILE
