/* SPDX-License-Identifier: BSD-3-Clause */
/* dpc_set_err(): see common.h. */
#include <stdarg.h>
#include <stdio.h>

#include "dpcache/common.h"

void dpc_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
