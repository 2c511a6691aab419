#ifndef VERTOPHONE_CWAP_H
#define VERTOPHONE_CWAP_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* webrtc-audio-processing 0.3 (WebRTC's AudioProcessing module) in C: echo cancellation (AEC), noise
   suppression, high-pass filter, gain control. Mono, 16-bit, 10 ms frames (rate / 100 samples);
   rates 8000, 16000, 32000 or 48000. */
typedef struct cwap cwap;

cwap *cwap_create(int sample_rate, int noise_suppression, int gain_control);
void cwap_destroy(cwap *w);
/* The far end as the loudspeaker plays it (one 10 ms frame). 0 on success. */
int cwap_far_end(cwap *w, const int16_t *frame);
/* The microphone's 10 ms frame, processed in place; `delay_ms` is the time from a far-end frame
   being given to cwap_far_end to its echo reaching the microphone. 0 on success. */
int cwap_near_end(cwap *w, int16_t *frame, int delay_ms);

#ifdef __cplusplus
}
#endif
#endif
