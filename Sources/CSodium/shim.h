#ifndef FIELDLOG_CSODIUM_SHIM_H
#define FIELDLOG_CSODIUM_SHIM_H
#include <sodium.h>
#endif
