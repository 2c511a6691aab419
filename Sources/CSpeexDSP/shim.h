#ifndef VERTOPHONE_CSPEEXDSP_SHIM_H
#define VERTOPHONE_CSPEEXDSP_SHIM_H
#include <speex/speex_resampler.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

/* The ctl calls take a void * per request: typed wrappers for the requests SpeexDSP (Swift) uses. */
static inline int cspeex_echo_set_sampling_rate(SpeexEchoState *st, int rate) {
    return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
}
static inline int cspeex_preprocess_set_echo_state(SpeexPreprocessState *pp, SpeexEchoState *echo) {
    return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
}
static inline int cspeex_preprocess_set_denoise(SpeexPreprocessState *pp, int on) {
    return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_DENOISE, &on);
}
static inline int cspeex_preprocess_set_agc(SpeexPreprocessState *pp, int on) {
    return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_AGC, &on);
}
#endif
