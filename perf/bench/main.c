/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpcache-bench: load generator and conformance checker for dpcached and
 * any memcached speaking the binary protocol over UDP.
 *
 *   dpcache-bench [EAL args] -- [bench flags]     DPDK port (memif, af_xdp, ...)
 *   dpcache-bench --transport udp --server H:P    kernel UDP sockets, no EAL
 *
 * Flag parsing, TSC calibration, signals and mode dispatch live here.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "bench.h"
#include "dpcache/ketama.h"

/* ---- time and signals ---------------------------------------------------------- */

static uint64_t tsc_hz;
static int stop_flag;

uint64_t bench_tsc(void)
{
	return rte_rdtsc();
}

uint64_t bench_tsc_hz(void)
{
	return tsc_hz;
}

double bench_tsc_to_us(uint64_t ticks)
{
	return (double)ticks * 1e6 / (double)tsc_hz;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_tsc_calibrate(void)
{
	uint64_t n0 = mono_ns(), t0 = rte_rdtsc(), n1, t1;

	do {
		n1 = mono_ns();
	} while (n1 - n0 < 50 * 1000 * 1000);
	t1 = rte_rdtsc();
	tsc_hz = (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
}

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

bool bench_stop_requested(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED) != 0;
}

void bench_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- flags ---------------------------------------------------------------------- */

void bench_cfg_defaults(struct bench_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->transport = BENCH_TP_UDP;
	c->keys = 100000;
	c->key_size = 16;
	c->value_size = 32;
	c->get_ratio = 0.9;
	c->batch = 1;
	c->outstanding = 0;        /* resolved after parsing: 64 closed, 4096 open */
	c->warmup_s = 1;
	c->duration_s = 5;
	c->timeout_us = 200000;
	c->seed = 1;
	c->progress = true;
	c->src_ip = htonl(0xc6120002);  /* 198.18.0.2 */
	c->nb_mbufs = 0;           /* auto: per queue pair, see bench_dpdk_port_setup() */
	c->reflect_port = 11211;
	c->check_big = true;
}

void bench_usage(FILE *out)
{
	fprintf(out,
"usage: dpcache-bench [EAL args --] [flags]\n"
"  With EAL args (e.g. --no-pci --vdev=net_memif0,role=client,socket=/tmp/x.sock) the\n"
"  transport is DPDK port --port-id; without, kernel UDP sockets.\n"
"  A load run uses every EAL lcore (-l 1-4, --lcores=...): one engine per lcore, each with\n"
"  its own queue pair(s) (q %% lcores == lcore), its own slice of the keys (with --steer, the\n"
"  keys of its own partitions), its own seed, window (--outstanding) and UDP source port\n"
"  (--src-port + lcore); --rate is the aggregate, split evenly.  Counters and histograms are\n"
"  merged at the end, with a row per lcore; the port's rte_eth_stats (imissed, ierrors,\n"
"  rx_nombuf...) are printed beside the bench's own counters.\n"
"modes:\n"
"  (default)             load run: [prefill], warm-up, measure; report\n"
"  --check               conformance: every opcode once, PASS/FAIL per check, exit 0 if all pass\n"
"  --reflect             DPDK only: answer GET/GETK/GETKQ/NOOP/SET as fast as possible (bench ceiling)\n"
"  --dry-run             DPDK (EAL args, no --vdev needed): bench and reflector in one thread over a\n"
"                        net_ring pair; CPU ns per request = the bench's cost plus the reflector's\n"
"target:\n"
"  --transport dpdk|udp  (default: dpdk with EAL args, else udp)\n"
"  --server H:P[,H:P..]  servers (default 198.18.0.1:11211); several: keys spread by ketama\n"
"  --ketama-hash md5|fnv1a_64  key hash on the ketama ring (md5: libmemcached, the default;\n"
"                        fnv1a_64: twemproxy's default `hash:`; the ring is the same)\n"
"  --steer N             N partitions per server: key's partition p = dpc_hash_part(dpc_hash(key), N)\n"
"                        goes to UDP port P+p and (DPDK) TX queue p\n"
"workload:\n"
"  --keys N (100000)  --key-size B (16)  --value-size B|MIN-MAX (32)  --get-ratio F (0.9)\n"
"                  (MIN-MAX: each key's value has its own length, log-uniform over the range)\n"
"  --dist uniform|zipf:S (uniform)  --batch N (1: GET; >1: GETKQ x N + NOOP)\n"
"  --outstanding N       closed loop window (64); open loop cap (4096); per lcore\n"
"  --rate R              open loop, Poisson arrivals at R requests/s in all (K/M suffixes)\n"
"  --warmup S (1)  --duration S (5)  --prefill  --prefill-batch N (auto)\n"
"  --fill-on-miss        look-aside caching, as applications use a cache: every GET miss is\n"
"                        followed by a SET of that key (sent before any new request; in open\n"
"                        loop on top of --rate).  Reports the fills and the hit ratio of the\n"
"                        warm-up and of the measurement (per second in the progress line)\n"
"  --timeout-us N (200000): a request unanswered this long is lost\n"
"  --seed N\n"
"output:\n"
"  --json FILE|-  --label TEXT  --quiet (no progress line)\n"
"DPDK:\n"
"  --port-id N (0)  --src-ip A (198.18.0.2)  --src-port P (40000)  --dst-mac M (else ARP)\n"
"  --udp-csum (compute UDP checksums; default 0 = none, valid in IPv4)\n"
"  --mbufs N             mbuf pool size (default: 2048 per queue pair + 1024, as 2^k - 1)\n"
"  --queues N            queue pairs to open (default: --steer N or the lcores, else 1).  A server\n"
"                        with N workers over memif answers on N queues (a write forwarded to\n"
"                        its owner is answered on the owner's queue): without --steer, give\n"
"                        --queues N or those answers are never seen\n"
"  --frag-spread         a request larger than one frame (SET of a large value, multi-get of\n"
"                        many or long keys) leaves as IPv4 fragments, fragment f on queue\n"
"                        (q + f) %% queues: the fragments of one datagram reach the server's\n"
"                        workers on different RX queues (its reassembly must bring them together)\n"
"  --rx-pause AT:S       stop reading replies AT seconds after the start of the load run (warm-up\n"
"                        included) for S seconds, still sending: the server's TX queue toward us\n"
"                        fills (tests of its drops and of its recovery); replies lost meanwhile\n"
"                        count as timeouts\n"
"reflect:\n"
"  --reflect-port P (11211; with --steer N: P..P+N-1)  --reflect-seconds S (0 = until signal)\n"
"check:\n"
"  --no-big              skip the 100 KiB and 1 MiB values (memcached needs -I 2m for 1 MiB)\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6, end++;
	else if (*end == 'g' || *end == 'G')
		v *= 1e9, end++;
	if (*end || v > 1.8e19)
		return -EINVAL;
	*out = (uint64_t)llround(v);
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}

static int resolve_host(const char *host, uint32_t *ip)
{
	struct addrinfo hints, *res = NULL;
	struct in_addr a;

	if (inet_pton(AF_INET, host, &a) == 1) {
		*ip = a.s_addr;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return -EINVAL;
	*ip = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return 0;
}

static int parse_servers(struct bench_cfg *c, const char *arg)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	c->nservers = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct bench_server *s;
		char *colon = strrchr(tok, ':');
		unsigned port = 11211;

		if (c->nservers >= BENCH_MAX_SERVERS)
			return -E2BIG;
		s = &c->servers[c->nservers];
		if (colon) {
			*colon = '\0';
			if (parse_uint(colon + 1, 1, 65535, &port) < 0)
				return -EINVAL;
		}
		if (strlen(tok) >= sizeof(s->host) || resolve_host(tok, &s->ip) < 0)
			return -EINVAL;
		char name[sizeof(s->name)];

		snprintf(name, sizeof(name), "%s:%u", tok, port);
		strcpy(s->host, tok);
		strcpy(s->name, name);
		s->port = (uint16_t)port;
		c->nservers++;
	}
	return c->nservers ? 0 : -EINVAL;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

enum {
	O_TRANSPORT = 256, O_SERVER, O_KEYS, O_KEY_SIZE, O_VALUE_SIZE, O_GET_RATIO, O_DIST, O_BATCH,
	O_OUTSTANDING, O_RATE, O_WARMUP, O_DURATION, O_PREFILL, O_PREFILL_BATCH, O_STEER,
	O_TIMEOUT, O_SEED, O_JSON, O_LABEL, O_QUIET, O_CHECK, O_NO_BIG, O_REFLECT, O_REFLECT_PORT,
	O_REFLECT_SECONDS, O_PORT_ID, O_SRC_IP, O_SRC_PORT, O_DST_MAC, O_UDP_CSUM, O_MBUFS, O_HELP, O_DRY_RUN,
	O_QUEUES, O_FILL_ON_MISS, O_KETAMA_HASH, O_FRAG_SPREAD, O_RX_PAUSE,
};

static const struct option long_opts[] = {
	{ "transport", required_argument, NULL, O_TRANSPORT },
	{ "server", required_argument, NULL, O_SERVER },
	{ "ketama-hash", required_argument, NULL, O_KETAMA_HASH },
	{ "keys", required_argument, NULL, O_KEYS },
	{ "key-size", required_argument, NULL, O_KEY_SIZE },
	{ "value-size", required_argument, NULL, O_VALUE_SIZE },
	{ "get-ratio", required_argument, NULL, O_GET_RATIO },
	{ "dist", required_argument, NULL, O_DIST },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "outstanding", required_argument, NULL, O_OUTSTANDING },
	{ "rate", required_argument, NULL, O_RATE },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "prefill", no_argument, NULL, O_PREFILL },
	{ "prefill-batch", required_argument, NULL, O_PREFILL_BATCH },
	{ "fill-on-miss", no_argument, NULL, O_FILL_ON_MISS },
	{ "steer", required_argument, NULL, O_STEER },
	{ "timeout-us", required_argument, NULL, O_TIMEOUT },
	{ "seed", required_argument, NULL, O_SEED },
	{ "json", required_argument, NULL, O_JSON },
	{ "label", required_argument, NULL, O_LABEL },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "check", no_argument, NULL, O_CHECK },
	{ "no-big", no_argument, NULL, O_NO_BIG },
	{ "reflect", no_argument, NULL, O_REFLECT },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "reflect-port", required_argument, NULL, O_REFLECT_PORT },
	{ "reflect-seconds", required_argument, NULL, O_REFLECT_SECONDS },
	{ "port-id", required_argument, NULL, O_PORT_ID },
	{ "src-ip", required_argument, NULL, O_SRC_IP },
	{ "src-port", required_argument, NULL, O_SRC_PORT },
	{ "dst-mac", required_argument, NULL, O_DST_MAC },
	{ "udp-csum", no_argument, NULL, O_UDP_CSUM },
	{ "mbufs", required_argument, NULL, O_MBUFS },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "frag-spread", no_argument, NULL, O_FRAG_SPREAD },
	{ "rx-pause", required_argument, NULL, O_RX_PAUSE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *flag, const char *val, const char *why)
{
	fprintf(stderr, "dpcache-bench: bad %s '%s': %s\n", flag, val ? val : "", why);
	return -EINVAL;
}

int bench_cfg_parse(struct bench_cfg *c, int argc, char **argv)
{
	bool have_server = false;
	int opt;
	unsigned u;
	uint64_t v;

	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *a = optarg;

		switch (opt) {
		case O_TRANSPORT:
			if (strcmp(a, "udp") == 0)
				c->transport = BENCH_TP_UDP;
			else if (strcmp(a, "dpdk") == 0)
				c->transport = BENCH_TP_DPDK;
			else
				return bad("--transport", a, "dpdk or udp");
			break;
		case O_KETAMA_HASH:
			c->ketama_hash = dpc_ketama_key_hash_parse(a);
			if (c->ketama_hash < 0)
				return bad("--ketama-hash", a, "md5 or fnv1a_64");
			break;
		case O_SERVER:
			if (parse_servers(c, a) < 0)
				return bad("--server", a, "HOST:PORT[,HOST:PORT...] (IPv4, at most 16)");
			have_server = true;
			break;
		case O_KEYS:
			if (parse_u64(a, &v) < 0 || v == 0 || v > UINT32_MAX)
				return bad("--keys", a, "1 .. 2^32-1");
			c->keys = v;
			break;
		case O_KEY_SIZE:
			if (parse_uint(a, 2, DPC_KEY_MAX, &c->key_size) < 0)
				return bad("--key-size", a, "2 .. 250");
			break;
		case O_VALUE_SIZE: {
			/* B, or MIN-MAX: a length per key between them (bench_value_len()) */
			const char *dash = strchr(a, '-');
			char lo[24];

			c->value_min = 0;
			if (dash && (size_t)(dash - a) < sizeof(lo)) {
				memcpy(lo, a, (size_t)(dash - a));
				lo[dash - a] = 0;
				if (parse_uint(lo, 1, DPC_VALUE_MAX_DEFAULT, &c->value_min) < 0 ||
				    parse_uint(dash + 1, 1, DPC_VALUE_MAX_DEFAULT, &c->value_size) < 0 ||
				    c->value_min > c->value_size)
					return bad("--value-size", a, "B or MIN-MAX, 0 .. 1048576");
			} else if (parse_uint(a, 0, DPC_VALUE_MAX_DEFAULT, &c->value_size) < 0) {
				return bad("--value-size", a, "B or MIN-MAX, 0 .. 1048576");
			}
			break;
		}
		case O_GET_RATIO:
			if (parse_double(a, 0, 1, &c->get_ratio) < 0)
				return bad("--get-ratio", a, "0 .. 1");
			break;
		case O_DIST:
			if (strcmp(a, "uniform") == 0)
				c->zipf_s = 0;
			else if (strncmp(a, "zipf:", 5) != 0 || parse_double(a + 5, 0.01, 10, &c->zipf_s) < 0)
				return bad("--dist", a, "uniform or zipf:S with 0 < S <= 10");
			break;
		case O_BATCH:
			if (parse_uint(a, 1, BENCH_MAX_BATCH, &c->batch) < 0)
				return bad("--batch", a, "1 .. 64");
			break;
		case O_OUTSTANDING:
			if (parse_uint(a, 1, 32768, &c->outstanding) < 0)
				return bad("--outstanding", a, "1 .. 32768");
			break;
		case O_RATE:
			if (parse_u64(a, &v) < 0 || v == 0 || v > 1000000000)
				return bad("--rate", a, "requests per second, 1 .. 1G");
			c->rate = (double)v;
			break;
		case O_WARMUP:
			if (parse_double(a, 0, 3600, &c->warmup_s) < 0)
				return bad("--warmup", a, "seconds, 0 .. 3600");
			break;
		case O_DURATION:
			if (parse_double(a, 0.001, 86400, &c->duration_s) < 0)
				return bad("--duration", a, "seconds, 0.001 .. 86400");
			break;
		case O_PREFILL:
			c->prefill = true;
			break;
		case O_FILL_ON_MISS:
			c->fill_on_miss = true;
			break;
		case O_PREFILL_BATCH:
			if (parse_uint(a, 1, BENCH_MAX_BATCH, &c->prefill_batch) < 0)
				return bad("--prefill-batch", a, "1 .. 64");
			break;
		case O_STEER:
			if (parse_uint(a, 1, BENCH_MAX_STEER, &c->steer) < 0)
				return bad("--steer", a, "1 .. 64");
			break;
		case O_TIMEOUT:
			if (parse_uint(a, 10, 60000000, &c->timeout_us) < 0)
				return bad("--timeout-us", a, "10 .. 60000000");
			break;
		case O_SEED:
			if (parse_u64(a, &c->seed) < 0)
				return bad("--seed", a, "a number");
			break;
		case O_JSON:
			c->json_path = a;
			break;
		case O_LABEL:
			c->label = a;
			break;
		case O_QUIET:
			c->progress = false;
			break;
		case O_CHECK:
			c->mode = BENCH_MODE_CHECK;
			break;
		case O_NO_BIG:
			c->check_big = false;
			break;
		case O_REFLECT:
			c->mode = BENCH_MODE_REFLECT;
			break;
		case O_DRY_RUN:
			c->dry_run = true;
			c->transport = BENCH_TP_DPDK;
			break;
		case O_REFLECT_PORT:
			if (parse_uint(a, 1, 65535, &u) < 0)
				return bad("--reflect-port", a, "1 .. 65535");
			c->reflect_port = (uint16_t)u;
			break;
		case O_REFLECT_SECONDS:
			if (parse_double(a, 0, 86400, &c->reflect_s) < 0)
				return bad("--reflect-seconds", a, "0 .. 86400");
			break;
		case O_PORT_ID:
			if (parse_uint(a, 0, 1023, &u) < 0)
				return bad("--port-id", a, "0 .. 1023");
			c->port_id = (uint16_t)u;
			break;
		case O_SRC_IP: {
			struct in_addr ia;

			if (inet_pton(AF_INET, a, &ia) != 1)
				return bad("--src-ip", a, "an IPv4 address");
			c->src_ip = ia.s_addr;
			break;
		}
		case O_SRC_PORT:
			if (parse_uint(a, 1, 65535, &u) < 0)
				return bad("--src-port", a, "1 .. 65535");
			c->src_port = (uint16_t)u;
			break;
		case O_DST_MAC:
			if (parse_mac(a, c->dst_mac) < 0)
				return bad("--dst-mac", a, "xx:xx:xx:xx:xx:xx");
			c->have_dst_mac = true;
			break;
		case O_UDP_CSUM:
			c->udp_csum = true;
			break;
		case O_MBUFS:
			if (parse_uint(a, 1023, 1u << 24, &c->nb_mbufs) < 0)
				return bad("--mbufs", a, "1023 .. 16M");
			break;
		case O_QUEUES:
			if (parse_uint(a, 1, BENCH_MAX_STEER, &c->queues) < 0)
				return bad("--queues", a, "1 .. 64");
			break;
		case O_FRAG_SPREAD:
			c->frag_spread = true;
			break;
		case O_RX_PAUSE: {
			const char *colon = strchr(a, ':');
			char at[32];

			if (!colon || (size_t)(colon - a) >= sizeof(at))
				return bad("--rx-pause", a, "AT:SECONDS");
			memcpy(at, a, (size_t)(colon - a));
			at[colon - a] = '\0';
			if (parse_double(at, 0, 3600, &c->rx_pause_at) < 0 ||
			    parse_double(colon + 1, 0.001, 3600, &c->rx_pause_s) < 0)
				return bad("--rx-pause", a, "AT:SECONDS, each 0 .. 3600");
			break;
		}
		case O_HELP:
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind], "unexpected (flags only)");
	if (!have_server && parse_servers(c, "198.18.0.1:11211") < 0)
		return -EINVAL;
	if (!c->outstanding)
		c->outstanding = c->rate > 0 ? 4096 : 64;
	if (c->dry_run && (c->steer > 1 || c->nservers > 1 || c->mode == BENCH_MODE_REFLECT))
		return bad("--dry-run", "", "one server, no --steer, not with --reflect");
	if (c->queues && c->steer > c->queues)
		return bad("--queues", "", "at least the --steer count (partition p leaves on queue p)");
	if (c->steer > 1 && c->transport == BENCH_TP_DPDK && c->nservers > 1)
		return bad("--steer", "", "with a DPDK port, steering takes one server");
	/* every request is one datagram; a SET of a value over ~1.3 KiB leaves as IPv4
	 * fragments (memcached and dpcached reassemble them), up to BENCH_REQ_MAX bytes */
	size_t set_len = DPC_UDP_FRAME_LEN + 24 + 8 + c->key_size + c->value_size + 24;
	size_t mget_len = DPC_UDP_FRAME_LEN + (size_t)c->batch * (24 + c->key_size) + 24;
	/* a DPDK port sends a multi-get of more than one frame as fragments too */
	size_t mget_max = c->transport == BENCH_TP_DPDK ? BENCH_REQ_MAX : DPC_UDP_MAX_PAYLOAD;
	bool sets = c->get_ratio < 1 || c->prefill || c->fill_on_miss;
	if (c->mode == BENCH_MODE_LOAD && sets && set_len > BENCH_REQ_MAX)
		return bad("--value-size", "", "a SET must fit one datagram of 9216 bytes: use "
			   "--get-ratio 1 without --prefill or --fill-on-miss for larger values");
	if (mget_len > mget_max)
		return bad("--batch", "", mget_max == BENCH_REQ_MAX ?
			   "the multi-get must fit one datagram of 9216 bytes" :
			   "the multi-get must fit one datagram (1400 bytes; a DPDK port: 9216)");
	if (c->frag_spread && (c->transport != BENCH_TP_DPDK || bench_tp_queues(c) < 2))
		return bad("--frag-spread", "", "a DPDK port with at least 2 queues (--queues, --steer)");
	if (!c->prefill_batch) {
		size_t per = 24 + 8 + c->key_size + c->value_size;
		size_t n = (DPC_UDP_MAX_PAYLOAD - DPC_UDP_FRAME_LEN - 24) / per;
		c->prefill_batch = (unsigned)(n < 1 ? 1 : n > 32 ? 32 : n);
	} else if (DPC_UDP_FRAME_LEN + 24 + (size_t)c->prefill_batch * (24 + 8 + c->key_size +
		   c->value_size) > DPC_UDP_MAX_PAYLOAD && c->prefill_batch > 1) {
		return bad("--prefill-batch", "", "the batch must fit one datagram (1400 bytes)");
	}
	uint8_t kbuf[DPC_KEY_MAX];
	if (bench_key_format(kbuf, c->key_size, c->keys - 1) < 0)
		return bad("--key-size", "", "too short to number --keys keys ('k' + hex digits)");
	return 0;
}

/* The transports of the bench lcores (tps[0..n)), or NULL + errno (what was opened is closed). */
static struct bench_tp **open_transports(struct bench_cfg *cfg, struct bench_reflector **peers)
{
	unsigned n = cfg->ncores;
	struct bench_tp **tps = calloc(n, sizeof(*tps));
	int err = 0;

	if (!tps)
		return NULL;
	for (unsigned i = 0; i < n && !err; i++) {
		if (cfg->dry_run) {
			/* one ring pair and reflector per lcore, polled by that lcore inline */
			uint16_t pa, pb;

			if (bench_ring_pair(i, &pa, &pb) < 0) {
				err = ENOMEM;
				break;
			}
			cfg->port_id = pa;
			cfg->reflect_port = cfg->servers[0].port;
			peers[i] = bench_reflector_open(cfg, pb, 1);
			tps[i] = peers[i] ? bench_tp_dpdk_open_peer(cfg, peers[i]) : NULL;
		} else if (cfg->transport == BENCH_TP_UDP) {
			tps[i] = bench_tp_udp_open(cfg);
		} else {
			tps[i] = i == 0 ? bench_tp_dpdk_open(cfg) : bench_tp_dpdk_open_core(tps[0], i);
		}
		if (!tps[i])
			err = errno ? errno : EIO;
	}
	if (!err)
		return tps;
	for (unsigned i = n; i-- > 0;)
		if (tps[i])
			tps[i]->ops->close(tps[i]);
	free(tps);
	errno = err;
	return NULL;
}

size_t bench_req_max(const struct bench_cfg *c)
{
	/* a SET (or a prefill batch of one SETQ and its NOOP) of the largest value, or a
	 * multi-get (GETKQ x batch + NOOP), whichever is longer */
	size_t set = DPC_UDP_FRAME_LEN + 24 + 8 + c->key_size + c->value_size + 24;
	size_t mget = DPC_UDP_FRAME_LEN + (size_t)c->batch * (24 + c->key_size) + 24;

	return set > mget ? set : mget;
}

int main(int argc, char **argv)
{
	struct bench_cfg cfg;
	struct bench_tp **tps = NULL;
	struct bench_reflector *peers[RTE_MAX_LCORE] = { NULL };
	int dashdash = -1, eal_argc, rc;
	bool eal = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	}
	eal_argc = dashdash < 0 ? 0 : dashdash;
	bench_cfg_defaults(&cfg);
	if (eal_argc > 1)
		cfg.transport = BENCH_TP_DPDK;
	{
		int bargc = dashdash < 0 ? argc : argc - dashdash;
		char **bargv = dashdash < 0 ? argv : argv + dashdash;

		rc = bench_cfg_parse(&cfg, bargc, bargv);
	}
	if (rc == 1) {
		bench_usage(stdout);
		return 0;
	}
	if (rc < 0) {
		bench_usage(stderr);
		return 2;
	}
	if (cfg.mode == BENCH_MODE_REFLECT)
		cfg.transport = BENCH_TP_DPDK;
	if (cfg.transport == BENCH_TP_DPDK) {
		if (eal_argc < 2) {
			fprintf(stderr, "dpcache-bench: the DPDK transport needs EAL args before '--'\n");
			return 2;
		}
		argv[dashdash] = argv[0];
		rc = rte_eal_init(eal_argc, argv);
		if (rc < 0) {
			fprintf(stderr, "dpcache-bench: EAL init failed: %s\n", rte_strerror(rte_errno));
			return 2;
		}
		eal = true;
	}
	bench_install_signals();
	bench_tsc_calibrate();
	/* a load run uses every EAL lcore (-l/--lcores), one queue pair or more each */
	cfg.ncores = eal && cfg.mode == BENCH_MODE_LOAD ? rte_lcore_count() : 1;
	if (cfg.ncores > 1 && cfg.steer > 1 && cfg.steer < cfg.ncores) {
		fprintf(stderr, "dpcache-bench: --steer %u with %u lcores: every lcore needs a "
			"partition (and its queue) of its own\n", cfg.steer, cfg.ncores);
		rc = 2;
		goto out;
	}
	if (cfg.mode == BENCH_MODE_REFLECT) {
		rc = bench_run_reflect(&cfg);
		goto out;
	}
	tps = open_transports(&cfg, peers);
	if (!tps) {
		fprintf(stderr, "dpcache-bench: cannot open the %s transport: %s\n",
			cfg.dry_run ? "--dry-run" : cfg.transport == BENCH_TP_UDP ? "udp" : "dpdk",
			strerror(errno));
		rc = 2;
		goto out;
	}
	if (cfg.mode == BENCH_MODE_CHECK)
		rc = bench_run_check(&cfg, tps[0]);
	else
		rc = bench_run_load(&cfg, tps);
	if (rc < 0) {
		fprintf(stderr, "dpcache-bench: %s\n", strerror(-rc));
		rc = 2;
	}
	for (unsigned i = cfg.ncores; i-- > 0;)
		tps[i]->ops->close(tps[i]);
	free(tps);
out:
	for (unsigned i = 0; i < RTE_MAX_LCORE; i++)
		bench_reflector_close(peers[i]);
	if (eal)
		rte_eal_cleanup();
	return rc < 0 ? 2 : rc;
}
