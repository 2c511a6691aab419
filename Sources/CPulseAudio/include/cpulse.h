#ifndef VERTOPHONE_CPULSE_H
#define VERTOPHONE_CPULSE_H
#include <stddef.h>
#include <stdint.h>

/* PulseAudio (also PipeWire's pulse server) for VertoPhone's audio device: blocking 16-bit mono
   streams (libpulse-simple: each call returns when the device has taken or given a frame, so the
   device's clock paces the caller) and the device list (libpulse's introspection API). */

typedef struct cpulse_stream cpulse_stream;

/* Opens a playback (record = 0) or capture (record = 1) stream on `device` (NULL: the default) of
   `server` (NULL: the default server). `frame_samples` sets the buffering: a playback stream keeps
   about two frames queued, a capture stream delivers one frame at a time. NULL on failure, *error set. */
cpulse_stream *cpulse_open(const char *server, const char *app_name, int record, const char *device,
                           unsigned rate, unsigned frame_samples, int *error);
/* Reads exactly `samples` samples (blocks). 0 on success, -1 with *error. */
int cpulse_read(cpulse_stream *s, int16_t *out, size_t samples, int *error);
/* Writes `samples` samples (blocks while the device's buffer is full). 0 on success, -1 with *error. */
int cpulse_write(cpulse_stream *s, const int16_t *in, size_t samples, int *error);
/* Current latency of the stream in microseconds (0 if unknown). */
uint64_t cpulse_latency_usec(cpulse_stream *s);
void cpulse_close(cpulse_stream *s);
const char *cpulse_strerror(int error);

/* Lists sinks (is_input = 0) and sources (is_input = 1) through `cb`, and copies the default sink
   and source names. 0 on success, -1 when the server cannot be reached (within ~2 s). */
typedef void (*cpulse_device_cb)(void *ctx, int is_input, const char *name, const char *description);
int cpulse_list_devices(const char *server, cpulse_device_cb cb, void *ctx,
                        char *default_sink, size_t sink_len, char *default_source, size_t source_len);

/* A stop flag any thread may set (a C11 atomic). */
typedef struct cpulse_flag cpulse_flag;
cpulse_flag *cpulse_flag_new(void);
void cpulse_flag_set(cpulse_flag *f);
void cpulse_flag_free(cpulse_flag *f);

/* Watches the server for sinks and sources coming and going and for default-device changes:
   calls `changed` (with no detail: the caller lists the devices again) on each, from this thread,
   until `stop` is set (checked every 10 ms). Returns 0 when stopped, -1 when the server cannot be
   reached or goes away (then `changed` is not called again). `ready` is called once, when the
   subscription is in place. */
typedef void (*cpulse_changed_cb)(void *ctx);
int cpulse_watch(const char *server, cpulse_changed_cb ready, cpulse_changed_cb changed, void *ctx, cpulse_flag *stop);
#endif
