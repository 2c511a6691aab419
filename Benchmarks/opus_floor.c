/* The libopus floor of one echo endpoint: decode a 20 ms packet and encode a 20 ms frame with the
 * server's settings (48 kHz mono, VOIP, 32 kbit/s, signal voice, the given complexity), the packets
 * being a 440 Hz tone encoded as the load tool's phones encode it (complexity 5). Prints the median
 * microseconds of each and the endpoints per core that libopus alone would allow (20 ms / both).
 * scripts/bench-capacity compiles and runs it beside the server's own figure.
 * Usage: opus_floor COMPLEXITY [FRAMES]   (cc -O2 opus_floor.c -lopus -lm) */
#include <math.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static OpusEncoder *encoder(int complexity) {
    int err;
    OpusEncoder *e = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
    if (!e) { fprintf(stderr, "opus_encoder_create: %d\n", err); exit(1); }
    opus_encoder_ctl(e, OPUS_SET_BITRATE(32000));
    opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(complexity));
    return e;
}

int main(int argc, char **argv) {
    int complexity = argc > 1 ? atoi(argv[1]) : 5, frames = argc > 2 ? atoi(argv[2]) : 3000;
    OpusEncoder *phone = encoder(5), *server = encoder(complexity);
    int err;
    OpusDecoder *decoder = opus_decoder_create(48000, 1, &err);
    short pcm[960], out[960];
    unsigned char packet[1500], reply[1500];
    double *dec = malloc(sizeof(double) * frames), *enc = malloc(sizeof(double) * frames);
    for (int i = 0; i < frames; i++) {
        for (int k = 0; k < 960; k++) pcm[k] = (short)(0.3 * 32767 * sin(2 * M_PI * 440 * (i * 960 + k) / 48000.0));
        int n = opus_encode(phone, pcm, 960, packet, sizeof packet);
        double a = now_us();
        int m = opus_decode(decoder, packet, n, out, 960, 0);
        double b = now_us();
        int r = opus_encode(server, out, 960, reply, sizeof reply);
        double c = now_us();
        if (n < 0 || m < 0 || r < 0) { fprintf(stderr, "opus failed\n"); return 1; }
        dec[i] = b - a;
        enc[i] = c - b;
    }
    qsort(dec, frames, sizeof(double), cmp);
    qsort(enc, frames, sizeof(double), cmp);
    double d = dec[frames / 2], e = enc[frames / 2];
    printf("opus_floor complexity=%d decode_us med=%.1f encode_us med=%.1f -> endpoints_per_core=%.0f\n",
           complexity, d, e, 20000.0 / (d + e));
    return 0;
}
