/* See cpulse.h. */
#include "cpulse.h"

#include <pulse/error.h>
#include <pulse/pulseaudio.h>
#include <pulse/simple.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cpulse_stream { pa_simple *simple; };

cpulse_stream *cpulse_open(const char *server, const char *app_name, int record, const char *device,
                           unsigned rate, unsigned frame_samples, int *error) {
    pa_sample_spec spec = { .format = PA_SAMPLE_S16LE, .rate = rate, .channels = 1 };
    pa_buffer_attr attr;
    uint32_t frame_bytes = frame_samples * 2;
    attr.maxlength = (uint32_t)-1;
    attr.tlength = record ? (uint32_t)-1 : frame_bytes * 2;
    attr.prebuf = record ? (uint32_t)-1 : frame_bytes;
    attr.minreq = record ? (uint32_t)-1 : frame_bytes;
    attr.fragsize = record ? frame_bytes : (uint32_t)-1;
    pa_simple *p = pa_simple_new(server, app_name, record ? PA_STREAM_RECORD : PA_STREAM_PLAYBACK, device,
                                 record ? "call capture" : "call playout", &spec, NULL, &attr, error);
    if (!p) return NULL;
    cpulse_stream *s = calloc(1, sizeof *s);
    if (!s) { pa_simple_free(p); if (error) *error = PA_ERR_INTERNAL; return NULL; }
    s->simple = p;
    return s;
}

int cpulse_read(cpulse_stream *s, int16_t *out, size_t samples, int *error) {
    return pa_simple_read(s->simple, out, samples * 2, error) < 0 ? -1 : 0;
}

int cpulse_write(cpulse_stream *s, const int16_t *in, size_t samples, int *error) {
    return pa_simple_write(s->simple, in, samples * 2, error) < 0 ? -1 : 0;
}

uint64_t cpulse_latency_usec(cpulse_stream *s) {
    int error = 0;
    pa_usec_t l = pa_simple_get_latency(s->simple, &error);
    return l == (pa_usec_t)-1 ? 0 : l;
}

void cpulse_close(cpulse_stream *s) {
    if (!s) return;
    pa_simple_free(s->simple);
    free(s);
}

const char *cpulse_strerror(int error) { return pa_strerror(error); }

/* ---- device list: a private mainloop driven until every answer came ---- */

typedef struct {
    cpulse_device_cb cb;
    void *ctx;
    int pending;
    int failed;
    char *default_sink; size_t sink_len;
    char *default_source; size_t source_len;
} list_state;

static void sink_cb(pa_context *c, const pa_sink_info *i, int eol, void *u) {
    list_state *st = u; (void)c;
    if (eol) { if (eol < 0) st->failed = 1; st->pending--; return; }
    st->cb(st->ctx, 0, i->name, i->description ? i->description : i->name);
}

static void source_cb(pa_context *c, const pa_source_info *i, int eol, void *u) {
    list_state *st = u; (void)c;
    if (eol) { if (eol < 0) st->failed = 1; st->pending--; return; }
    st->cb(st->ctx, 1, i->name, i->description ? i->description : i->name);
}

static void server_cb(pa_context *c, const pa_server_info *i, void *u) {
    list_state *st = u; (void)c;
    if (i) {
        if (i->default_sink_name && st->sink_len) { strncpy(st->default_sink, i->default_sink_name, st->sink_len - 1); st->default_sink[st->sink_len - 1] = 0; }
        if (i->default_source_name && st->source_len) { strncpy(st->default_source, i->default_source_name, st->source_len - 1); st->default_source[st->source_len - 1] = 0; }
    }
    st->pending--;
}

int cpulse_list_devices(const char *server, cpulse_device_cb cb, void *ctx,
                        char *default_sink, size_t sink_len, char *default_source, size_t source_len) {
    pa_mainloop *ml = pa_mainloop_new();
    if (!ml) return -1;
    pa_context *c = pa_context_new(pa_mainloop_get_api(ml), "vertophone-devices");
    if (!c) { pa_mainloop_free(ml); return -1; }
    if (sink_len) default_sink[0] = 0;
    if (source_len) default_source[0] = 0;
    list_state st = { cb, ctx, 0, 0, default_sink, sink_len, default_source, source_len };
    int result = -1;
    if (pa_context_connect(c, server, PA_CONTEXT_NOAUTOSPAWN, NULL) >= 0) {
        int started = 0;
        /* Bounded: ~2 s of 10 ms iterations. */
        for (int iter = 0; iter < 200; iter++) {
            /* One round of the loop, waiting at most 10 ms for an event. */
            if (pa_mainloop_prepare(ml, 10000) < 0 || pa_mainloop_poll(ml) < 0 || pa_mainloop_dispatch(ml) < 0) break;
            pa_context_state_t state = pa_context_get_state(c);
            if (state == PA_CONTEXT_FAILED || state == PA_CONTEXT_TERMINATED) break;
            if (state == PA_CONTEXT_READY && !started) {
                started = 1;
                pa_operation *ops[3] = { pa_context_get_server_info(c, server_cb, &st),
                                         pa_context_get_sink_info_list(c, sink_cb, &st),
                                         pa_context_get_source_info_list(c, source_cb, &st) };
                st.pending = 0;
                for (int i = 0; i < 3; i++) {
                    if (ops[i]) { st.pending++; pa_operation_unref(ops[i]); } else { st.failed = 1; }
                }
                if (st.failed) break;
            }
            if (started && st.pending == 0) { result = st.failed ? -1 : 0; break; }
        }
        pa_context_disconnect(c);
    }
    pa_context_unref(c);
    pa_mainloop_free(ml);
    return result;
}

/* ---- watching for changes ---- */

struct cpulse_flag { atomic_int value; };

cpulse_flag *cpulse_flag_new(void) {
    cpulse_flag *f = malloc(sizeof *f);
    if (f) atomic_init(&f->value, 0);
    return f;
}
void cpulse_flag_set(cpulse_flag *f) { atomic_store(&f->value, 1); }
void cpulse_flag_free(cpulse_flag *f) { free(f); }

typedef struct { cpulse_changed_cb ready, changed; void *ctx; int dirty; } watch_state;

static void subscribed_cb(pa_context *c, int success, void *u) {
    watch_state *w = u; (void)c;
    if (success) w->ready(w->ctx);
}

static void subscribe_cb(pa_context *c, pa_subscription_event_type_t t, uint32_t idx, void *u) {
    watch_state *w = u; (void)c; (void)idx;
    pa_subscription_event_type_t facility = t & PA_SUBSCRIPTION_EVENT_FACILITY_MASK;
    pa_subscription_event_type_t kind = t & PA_SUBSCRIPTION_EVENT_TYPE_MASK;
    /* Devices coming and going, and the server's defaults; not the sinks' own state changes
       (volume, running/idle), which come with every stream that starts or stops. */
    if (((facility == PA_SUBSCRIPTION_EVENT_SINK || facility == PA_SUBSCRIPTION_EVENT_SOURCE) &&
         kind != PA_SUBSCRIPTION_EVENT_CHANGE) || facility == PA_SUBSCRIPTION_EVENT_SERVER) {
        w->dirty = 1;  /* listed once, after this round's dispatch */
    }
}

int cpulse_watch(const char *server, cpulse_changed_cb ready, cpulse_changed_cb changed, void *ctx, cpulse_flag *stop) {
    pa_mainloop *ml = pa_mainloop_new();
    if (!ml) return -1;
    pa_context *c = pa_context_new(pa_mainloop_get_api(ml), "vertophone-watch");
    if (!c) { pa_mainloop_free(ml); return -1; }
    watch_state w = { ready, changed, ctx, 0 };
    int result = -1, subscribed = 0;
    if (pa_context_connect(c, server, PA_CONTEXT_NOAUTOSPAWN, NULL) >= 0) {
        while (!atomic_load(&stop->value)) {
            if (pa_mainloop_prepare(ml, 10000) < 0 || pa_mainloop_poll(ml) < 0 || pa_mainloop_dispatch(ml) < 0) break;
            pa_context_state_t state = pa_context_get_state(c);
            if (state == PA_CONTEXT_FAILED || state == PA_CONTEXT_TERMINATED) break;
            if (state == PA_CONTEXT_READY && !subscribed) {
                subscribed = 1;
                pa_context_set_subscribe_callback(c, subscribe_cb, &w);
                pa_operation *op = pa_context_subscribe(c, PA_SUBSCRIPTION_MASK_SINK | PA_SUBSCRIPTION_MASK_SOURCE |
                                                               PA_SUBSCRIPTION_MASK_SERVER, subscribed_cb, &w);
                if (!op) break;
                pa_operation_unref(op);
            }
            if (w.dirty) { w.dirty = 0; w.changed(w.ctx); }
        }
        if (atomic_load(&stop->value)) result = 0;
        pa_context_disconnect(c);
    }
    pa_context_unref(c);
    pa_mainloop_free(ml);
    return result;
}
