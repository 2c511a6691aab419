// See cwap.h.
#include "cwap.h"

// What the library's pkg-config file asks for (SwiftPM passes its -I but not its -D flags).
#define WEBRTC_POSIX 1
#define WEBRTC_AUDIO_PROCESSING_ONLY_BUILD 1

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <cstring>
#include <new>

struct cwap {
    webrtc::AudioProcessing *apm;
    int rate;
    webrtc::AudioFrame frame;
};

static void fill(webrtc::AudioFrame &f, int rate, const int16_t *data) {
    f.sample_rate_hz_ = rate;
    f.num_channels_ = 1;
    f.samples_per_channel_ = rate / 100;
    std::memcpy(f.data_, data, sizeof(int16_t) * (rate / 100));
}

extern "C" cwap *cwap_create(int sample_rate, int noise_suppression, int gain_control) {
    if (sample_rate != 8000 && sample_rate != 16000 && sample_rate != 32000 && sample_rate != 48000) return nullptr;
    webrtc::Config config;
    config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
    config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
    webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(config);
    if (!apm) return nullptr;
    apm->high_pass_filter()->Enable(true);
    apm->echo_cancellation()->enable_drift_compensation(false);
    apm->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kHighSuppression);
    apm->echo_cancellation()->Enable(true);
    apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
    apm->noise_suppression()->Enable(noise_suppression != 0);
    apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
    apm->gain_control()->Enable(gain_control != 0);
    cwap *w = new (std::nothrow) cwap;
    if (!w) { delete apm; return nullptr; }
    w->apm = apm;
    w->rate = sample_rate;
    return w;
}

extern "C" void cwap_destroy(cwap *w) {
    if (!w) return;
    delete w->apm;
    delete w;
}

extern "C" int cwap_far_end(cwap *w, const int16_t *frame) {
    fill(w->frame, w->rate, frame);
    return w->apm->ProcessReverseStream(&w->frame);
}

extern "C" int cwap_near_end(cwap *w, int16_t *frame, int delay_ms) {
    fill(w->frame, w->rate, frame);
    w->apm->set_stream_delay_ms(delay_ms);
    int r = w->apm->ProcessStream(&w->frame);
    std::memcpy(frame, w->frame.data_, sizeof(int16_t) * (w->rate / 100));
    return r;
}
