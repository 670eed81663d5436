/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench results: a few lines for people, one JSON object for
 * scripts (perf/sweep.sh, perf/compare.sh).  Latencies come from the
 * log-linear histogram in TSC ticks and are converted to microseconds here.
 */
#include <string.h>

#include "bench.h"
#include "dpcache/hist.h"

static const double pcts[] = { 50, 90, 99, 99.9, 99.99 };
static const char *const pct_names[] = { "p50", "p90", "p99", "p99_9", "p99_99" };

static void dist_name(const struct bench_cfg *c, char *buf, size_t len)
{
	if (c->zipf_s > 0)
		snprintf(buf, len, "zipf:%g", c->zipf_s);
	else
		snprintf(buf, len, "uniform");
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

void bench_report_text(FILE *out, const struct bench_cfg *cfg, const struct bench_result *r)
{
	const struct bench_counters *c = &r->c;
	char dist[32];
	double s = r->seconds > 0 ? r->seconds : 1e-9;
	uint64_t lost = c->timeouts;
	unsigned ncores = r->ncores ? r->ncores : 1;

	dist_name(cfg, dist, sizeof(dist));
	fprintf(out, "dpcache-bench %s%s transport=%s servers=%u (%s%s) keys=%llu key=%uB value=%uB "
		"get=%.0f%% dist=%s batch=%u steer=%u ",
		cfg->label ? cfg->label : "", cfg->label ? ":" : "",
		cfg->transport == BENCH_TP_UDP ? "udp" : "dpdk", cfg->nservers, cfg->servers[0].name,
		cfg->nservers > 1 ? ",..." : "", (unsigned long long)cfg->keys, cfg->key_size,
		cfg->value_size, cfg->get_ratio * 100, dist, cfg->batch, cfg->steer);
	if (cfg->rate > 0)
		fprintf(out, "open-loop rate=%.0f/s (cap %u)\n", cfg->rate, cfg->outstanding);
	else
		fprintf(out, "closed-loop outstanding=%u\n", cfg->outstanding);
	fprintf(out, "  requests  %llu in %.2f s = %.4f M req/s  (GETs %.4f M/s, SETs %.4f M/s)\n",
		(unsigned long long)c->completed, r->seconds, (double)c->completed / s / 1e6,
		(double)c->gets / s / 1e6, (double)c->sets / s / 1e6);
	fprintf(out, "  hits      %.3f %%  (%llu hits, %llu misses)\n",
		100 * ratio(c->get_hits, c->get_hits + c->get_misses), (unsigned long long)c->get_hits,
		(unsigned long long)c->get_misses);
	if (cfg->fill_on_miss) {
		const struct bench_counters *w = &r->warm;

		fprintf(out, "  fills     %llu SETs after a GET miss (%llu misses not filled: queue full)",
			(unsigned long long)c->fills, (unsigned long long)c->fills_dropped);
		if (w->get_hits + w->get_misses)
			fprintf(out, "; warm-up hits %.3f %% (%llu of %llu)",
				100 * ratio(w->get_hits, w->get_hits + w->get_misses),
				(unsigned long long)w->get_hits,
				(unsigned long long)(w->get_hits + w->get_misses));
		fputc('\n', out);
	}
	fprintf(out, "  lost      %llu of %llu (%.4f %%), late %llu, tx refused %llu\n",
		(unsigned long long)lost, (unsigned long long)c->sent, 100 * ratio(lost, c->sent),
		(unsigned long long)c->late, (unsigned long long)c->tx_refused);
	fprintf(out, "  errors    status %llu, content %llu, protocol %llu\n",
		(unsigned long long)c->err_status, (unsigned long long)c->err_content,
		(unsigned long long)c->err_proto);
	if (c->completed && r->cpu_seconds > 0)
		fprintf(out, "  cpu       the bench thread%s ran %.1f %% of the time%s, %.1f ns of CPU per "
			"request%s\n", ncores > 1 ? "s" : "",
			100 * r->cpu_seconds / s / ncores, ncores > 1 ? " (mean over the lcores)" : "",
			r->cpu_seconds * 1e9 / (double)c->completed,
			cfg->dry_run ? " (bench + reflector in one thread)" : "");
	if (c->completed && r->busy_cycles) {
		double ns = bench_tsc_to_us(r->busy_cycles) * 1e3 / (double)c->completed;

		/* kernel UDP: the syscalls (and loopback softirq work) are in there too */
		fprintf(out, "  bench     %.1f ns of non-idle polling per request%s\n", ns,
			cfg->transport == BENCH_TP_UDP ? " (kernel UDP: includes syscalls)" : "");
	}
	if (r->lat && dpc_hist_count(r->lat)) {
		fprintf(out, "  latency   us: mean %.2f", bench_tsc_to_us((uint64_t)dpc_hist_mean(r->lat)));
		for (unsigned i = 0; i < DPC_ARRAY_SIZE(pcts); i++)
			fprintf(out, "  %s %.2f", pct_names[i],
				bench_tsc_to_us(dpc_hist_percentile(r->lat, pcts[i])));
		fprintf(out, "  max %.2f\n", bench_tsc_to_us(dpc_hist_max(r->lat)));
	}
	for (unsigned i = 0; i < r->nports; i++) {
		const struct bench_port_stats *p = &r->ports[i];

		fprintf(out, "  port %u    (rte_eth_stats, warm-up + measurement) rx %llu, tx %llu, "
			"imissed %llu, "
			"ierrors %llu, oerrors %llu, rx_nombuf %llu\n", p->port,
			(unsigned long long)p->ipackets, (unsigned long long)p->opackets,
			(unsigned long long)p->imissed, (unsigned long long)p->ierrors,
			(unsigned long long)p->oerrors, (unsigned long long)p->rx_nombuf);
	}
	if (!r->per_core)
		return;
	fprintf(out, "  per lcore  lcore    M req/s   hits %%      lost   tx refused   p50 us   p99 us  "
		"cpu %%\n");
	for (unsigned i = 0; i < ncores; i++) {
		const struct bench_result *q = &r->per_core[i];
		const struct bench_counters *k = &q->c;
		double qs = q->seconds > 0 ? q->seconds : 1e-9;
		bool h = q->lat && dpc_hist_count(q->lat);

		fprintf(out, "             %5u %10.4f %8.3f %9llu %12llu %8.2f %8.2f %6.1f\n", q->lcore,
			(double)k->completed / qs / 1e6,
			100 * ratio(k->get_hits, k->get_hits + k->get_misses),
			(unsigned long long)k->timeouts, (unsigned long long)k->tx_refused,
			h ? bench_tsc_to_us(dpc_hist_percentile(q->lat, 50)) : 0.0,
			h ? bench_tsc_to_us(dpc_hist_percentile(q->lat, 99)) : 0.0,
			100 * q->cpu_seconds / qs);
	}
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void json_counters(FILE *out, const struct bench_counters *c)
{
	fprintf(out, "\"sent\": %llu, \"completed\": %llu, \"gets\": %llu, \"hits\": %llu, "
		"\"misses\": %llu, \"sets\": %llu, \"sets_ok\": %llu, \"lost\": %llu, \"late\": %llu, "
		"\"tx_refused\": %llu, \"errors\": {\"status\": %llu, \"content\": %llu, "
		"\"protocol\": %llu}, \"rx_datagrams\": %llu, \"rx_bytes\": %llu, \"tx_bytes\": %llu, "
		"\"fills\": %llu, \"fills_dropped\": %llu",
		(unsigned long long)c->sent, (unsigned long long)c->completed,
		(unsigned long long)c->gets, (unsigned long long)c->get_hits,
		(unsigned long long)c->get_misses, (unsigned long long)c->sets,
		(unsigned long long)c->set_ok, (unsigned long long)c->timeouts,
		(unsigned long long)c->late, (unsigned long long)c->tx_refused,
		(unsigned long long)c->err_status, (unsigned long long)c->err_content,
		(unsigned long long)c->err_proto, (unsigned long long)c->rx_dgrams,
		(unsigned long long)c->rx_bytes, (unsigned long long)c->tx_bytes,
		(unsigned long long)c->fills, (unsigned long long)c->fills_dropped);
}

void bench_report_json(FILE *out, const struct bench_cfg *cfg, const struct bench_result *r,
		       const struct bench_result *prefill)
{
	const struct bench_counters *c = &r->c;
	double s = r->seconds > 0 ? r->seconds : 1e-9;
	unsigned ncores = r->ncores ? r->ncores : 1;
	char dist[32];

	dist_name(cfg, dist, sizeof(dist));
	fprintf(out, "{\"tool\": \"dpcache-bench\", \"label\": ");
	json_str(out, cfg->label ? cfg->label : "");
	fprintf(out, ", \"transport\": \"%s\", \"servers\": [",
		cfg->transport == BENCH_TP_UDP ? "udp" : "dpdk");
	for (unsigned i = 0; i < cfg->nservers; i++) {
		fprintf(out, "%s", i ? ", " : "");
		json_str(out, cfg->servers[i].name);
	}
	fprintf(out, "],\n \"workload\": {\"keys\": %llu, \"key_size\": %u, \"value_size\": %u, "
		"\"get_ratio\": %g, \"dist\": \"%s\", \"batch\": %u, \"mode\": \"%s\", "
		"\"outstanding\": %u, \"rate\": %.0f, \"warmup_s\": %g, \"duration_s\": %g, "
		"\"steer\": %u, \"prefill\": %s, \"fill_on_miss\": %s, \"timeout_us\": %u, "
		"\"value_min\": %u},\n",
		(unsigned long long)cfg->keys, cfg->key_size, cfg->value_size, cfg->get_ratio, dist,
		cfg->batch, cfg->rate > 0 ? "open" : "closed", cfg->outstanding, cfg->rate,
		cfg->warmup_s, cfg->duration_s, cfg->steer, cfg->prefill ? "true" : "false",
		cfg->fill_on_miss ? "true" : "false", cfg->timeout_us, cfg->value_min);
	if (prefill) {
		fprintf(out, " \"prefill\": {\"seconds\": %.3f, ", prefill->seconds);
		json_counters(out, &prefill->c);
		fprintf(out, ", \"retries\": %llu, \"gave_up\": %llu",
			(unsigned long long)prefill->c.retries, (unsigned long long)prefill->c.gave_up);
		fprintf(out, "},\n");
	}
	fprintf(out, " \"warmup\": {\"hit_ratio\": %.6f, ",
		ratio(r->warm.get_hits, r->warm.get_hits + r->warm.get_misses));
	json_counters(out, &r->warm);
	fprintf(out, "},\n");
	fprintf(out, " \"results\": {\"seconds\": %.6f, \"offered_rate\": %.0f, \"req_per_s\": %.1f, "
		"\"gets_per_s\": %.1f, \"sets_per_s\": %.1f, \"hit_ratio\": %.6f, \"loss_ratio\": %.8f, ",
		r->seconds, r->offered_rate, (double)c->completed / s, (double)c->gets / s,
		(double)c->sets / s, ratio(c->get_hits, c->get_hits + c->get_misses),
		ratio(c->timeouts, c->sent));
	json_counters(out, c);
	fprintf(out, ", \"lcores\": %u, \"cpu_share\": %.4f, \"cpu_ns_per_req\": %.2f, \"dry_run\": %s",
		ncores, r->cpu_seconds / s / ncores,
		c->completed ? r->cpu_seconds * 1e9 / (double)c->completed : 0.0,
		cfg->dry_run ? "true" : "false");
	fprintf(out, ", \"bench_busy_ns_per_req\": %.2f",
		c->completed ? bench_tsc_to_us(r->busy_cycles) * 1e3 / (double)c->completed : 0.0);
	fprintf(out, ",\n  \"latency_us\": {\"samples\": %llu",
		(unsigned long long)(r->lat ? dpc_hist_count(r->lat) : 0));
	if (r->lat && dpc_hist_count(r->lat)) {
		fprintf(out, ", \"mean\": %.3f, \"min\": %.3f",
			bench_tsc_to_us((uint64_t)dpc_hist_mean(r->lat)),
			bench_tsc_to_us(dpc_hist_min(r->lat)));
		for (unsigned i = 0; i < DPC_ARRAY_SIZE(pcts); i++)
			fprintf(out, ", \"%s\": %.3f", pct_names[i],
				bench_tsc_to_us(dpc_hist_percentile(r->lat, pcts[i])));
		fprintf(out, ", \"max\": %.3f, \"rel_error\": %g", bench_tsc_to_us(dpc_hist_max(r->lat)),
			dpc_hist_rel_error(r->lat));
	}
	fprintf(out, "}");
	/* the DPDK port's own counters: a NIC's drops show here, not in ours */
	fprintf(out, ",\n  \"ports\": [");
	for (unsigned i = 0; i < r->nports; i++) {
		const struct bench_port_stats *p = &r->ports[i];

		fprintf(out, "%s{\"port\": %u, \"ipackets\": %llu, \"opackets\": %llu, \"ibytes\": %llu, "
			"\"obytes\": %llu, \"imissed\": %llu, \"ierrors\": %llu, \"oerrors\": %llu, "
			"\"rx_nombuf\": %llu}", i ? ", " : "", p->port,
			(unsigned long long)p->ipackets, (unsigned long long)p->opackets,
			(unsigned long long)p->ibytes, (unsigned long long)p->obytes,
			(unsigned long long)p->imissed, (unsigned long long)p->ierrors,
			(unsigned long long)p->oerrors, (unsigned long long)p->rx_nombuf);
	}
	fprintf(out, "],\n  \"per_lcore\": [");
	for (unsigned i = 0; r->per_core && i < ncores; i++) {
		const struct bench_result *q = &r->per_core[i];
		const struct bench_counters *k = &q->c;
		double qs = q->seconds > 0 ? q->seconds : 1e-9;
		bool h = q->lat && dpc_hist_count(q->lat);

		fprintf(out, "%s\n   {\"lcore\": %u, \"seconds\": %.6f, \"req_per_s\": %.1f, "
			"\"hit_ratio\": %.6f, \"cpu_share\": %.4f, \"p50\": %.3f, \"p99\": %.3f, ",
			i ? "," : "", q->lcore, q->seconds, (double)k->completed / qs,
			ratio(k->get_hits, k->get_hits + k->get_misses), q->cpu_seconds / qs,
			h ? bench_tsc_to_us(dpc_hist_percentile(q->lat, 50)) : 0.0,
			h ? bench_tsc_to_us(dpc_hist_percentile(q->lat, 99)) : 0.0);
		json_counters(out, k);
		fprintf(out, "}");
	}
	fprintf(out, "]},\n \"tsc_hz\": %llu}\n", (unsigned long long)bench_tsc_hz());
}
