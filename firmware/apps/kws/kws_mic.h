/* Microphone capture for the kws app (boards whose definition has "microphone": "pdm").
 * KWS_MIC comes from the generated kws_config.h; without a microphone these are never called and the
 * audio arrives over the serial link (KWS_PUSH). The Arduino PDM glue is kws_mic_arduino.cpp. */
#ifndef TINYGEN_KWS_MIC_H_
#define TINYGEN_KWS_MIC_H_

#include <stdint.h>

#include "kws_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start 16 kHz mono capture into a ring buffer (filled from the driver's interrupt callback). */
void kws_mic_start(void);
/* Copy up to `max` captured samples (oldest first); returns how many. Never blocks. */
uint32_t kws_mic_read(int16_t *out, uint32_t max);
/* Samples dropped because the ring was full (the pipeline fell behind real time). */
uint32_t kws_mic_overruns(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_KWS_MIC_H_ */
