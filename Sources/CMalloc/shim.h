#ifndef VERTOPHONE_CMALLOC_SHIM_H
#define VERTOPHONE_CMALLOC_SHIM_H
#include <malloc.h>

/* Bytes the C allocator has handed out and not had back: every arena's chunks in use plus the
   blocks it mapped on its own (glibc's mallinfo2, which counts all arenas). */
static inline unsigned long long cmalloc_bytes_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return (unsigned long long)m.uordblks + (unsigned long long)m.hblkhd;
}
#endif
