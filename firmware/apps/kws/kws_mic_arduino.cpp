// PDM microphone capture on Arduino cores that ship the PDM library (ArduinoCore-mbed: Nano 33 BLE
// Sense, Nano RP2040 Connect). Compiled only for Arduino builds of boards with a microphone.
//
// PDM.onReceive runs in interrupt context: it only copies the driver's block into a single-producer
// single-consumer ring; loop() drains it through kws_mic_read() and runs the pipeline there.
#include "kws_mic.h"

#if defined(ARDUINO) && KWS_MIC
#include <Arduino.h>
#include <PDM.h>

namespace {

constexpr uint32_t kRing = 4096;  // 256 ms at 16 kHz: slack for one slow inference
constexpr int kGain = 20;         // PDM.setGain: the level TFLM's micro_speech example uses
int16_t ring[kRing];
volatile uint32_t write_pos = 0;  // only the callback writes it
volatile uint32_t read_pos = 0;   // only loop() writes it
volatile uint32_t overruns = 0;
int16_t block[512];

void on_pdm() {
  int bytes = PDM.available();
  if (bytes <= 0) return;
  if (bytes > static_cast<int>(sizeof block)) bytes = sizeof block;
  int n = PDM.read(block, bytes) / 2;
  uint32_t w = write_pos;
  for (int i = 0; i < n; ++i) {
    if (w - read_pos >= kRing) {
      overruns = overruns + 1;
      continue;
    }
    ring[w % kRing] = block[i];
    ++w;
  }
  write_pos = w;
}

}  // namespace

extern "C" void kws_mic_start(void) {
  PDM.onReceive(on_pdm);
  PDM.setBufferSize(sizeof block);
  if (!PDM.begin(1, KWS_SAMPLE_RATE)) {
    return;  // no microphone: the app still answers the serial protocol
  }
  PDM.setGain(kGain);
}

extern "C" uint32_t kws_mic_read(int16_t *out, uint32_t max) {
  uint32_t r = read_pos;
  uint32_t n = write_pos - r;
  if (n > max) n = max;
  for (uint32_t i = 0; i < n; ++i) out[i] = ring[(r + i) % kRing];
  read_pos = r + n;
  return n;
}

extern "C" uint32_t kws_mic_overruns(void) { return overruns; }

#endif  // ARDUINO && KWS_MIC
