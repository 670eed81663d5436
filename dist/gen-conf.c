/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Build tool: the sample dpcache.conf, generated from the one settings
 * table (config.h), so that the sample lists every setting with its
 * default, range and help and can never go stale.  `make install` puts it
 * in $(SYSCONFDIR)/dpcache/.
 *
 *   gen-conf                 print the sample (every setting commented out)
 *   gen-conf --check FILE    load FILE as dpcached would (0, or 1 with
 *                            "FILE:LINE: message" on stderr)
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dpcache/config.h"

static void range_str(const struct dpc_config_def *d, char *buf, size_t len)
{
	char lo[32], hi[32];

	switch (d->type) {
	case DPC_CFG_U32:
		snprintf(buf, len, "a number, %" PRIu64 "..%" PRIu64, d->min, d->max);
		break;
	case DPC_CFG_SIZE:
		dpc_config_format_size(d->min, lo, sizeof(lo));
		dpc_config_format_size(d->max, hi, sizeof(hi));
		snprintf(buf, len, "a size (K/M/G/T suffixes), %s..%s", lo, hi);
		break;
	case DPC_CFG_IPV4:
		snprintf(buf, len, "an IPv4 address");
		break;
	case DPC_CFG_ENUM:
		snprintf(buf, len, "one of %s", d->enum_values);
		break;
	case DPC_CFG_BOOL:
		snprintf(buf, len, "yes or no");
		break;
	case DPC_CFG_STRING:
		snprintf(buf, len, "1..%d characters of [A-Za-z0-9_.-]", DPC_CFG_STR_MAX - 1);
		break;
	case DPC_CFG_PREFIXES:
		snprintf(buf, len, "IPv4 prefixes A.B.C.D/N, comma-separated; subnet; none");
		break;
	}
}

static void print_sample(void)
{
	unsigned i;

	printf("# dpcache.conf: settings of one dpcached instance (`dpcached -- --config FILE`).\n"
	       "#\n"
	       "# Generated from dpcached's settings table: every setting is listed, commented\n"
	       "# out, with its default.  Uncomment and change what you need.  Format: one\n"
	       "# `name = value` per line, `#` starts a comment.  Flags on dpcached's command line\n"
	       "# (after EAL's `--`) override this file; the systemd unit passes --name <instance>.\n"
	       "# Settings marked \"run time\" can also be changed while dpcached runs:\n"
	       "#   dpcachectl --name NAME config set SETTING VALUE\n"
	       "# EAL options (cores, NIC, hugepages) are not settings: see dpcache.env.\n");
	for (i = 0; i < dpc_config_ndefs; i++) {
		const struct dpc_config_def *d = &dpc_config_defs[i];
		char range[128];

		range_str(d, range, sizeof(range));
		printf("\n# %s\n# (%s; default %s%s)\n#%s = %s\n", d->help, range, d->def,
		       d->runtime ? "; run time" : "", d->name, d->def);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--check") == 0) {
		struct dpc_config c;
		char err[512];

		int rc;

		dpc_config_defaults(&c);
		rc = dpc_config_load_file(&c, argv[2], err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "%s\n", err);
		dpc_config_free(&c);
		return rc != 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: gen-conf [--check FILE]\n");
		return 2;
	}
	print_sample();
	return 0;
}
