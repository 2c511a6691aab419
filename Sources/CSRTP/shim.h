#ifndef VERTOPHONE_CSRTP_SHIM_H
#define VERTOPHONE_CSRTP_SHIM_H
#include <srtp2/srtp.h>
#endif
