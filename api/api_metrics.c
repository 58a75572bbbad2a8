/*
 * api_metrics.c — GET /metrics: the Prometheus text exposition format
 * 0.0.4 (HELP and TYPE before each family, label values escaped), written
 * from plain inputs so the unit test can check every byte; and okrd's
 * process figures from /proc/self, as Prometheus' own client libraries
 * name them (process_resident_memory_bytes, ...).
 *
 * Invariant: an undefined number (NaN, or Inf, which okr/ never makes) is
 * left out; no sample ever reads NaN, so a graph shows a gap, not a zero.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api_internal.h"

static void family(struct api_buf *b, const char *name, const char *type, const char *help)
{
    api_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value — labels as NULL-terminated name/value pairs. */
static void sample(struct api_buf *b, const char *name, const char *const *labels, double v)
{
    if (!isfinite(v))
        return;
    api_buf_puts(b, name);
    if (labels && labels[0]) {
        api_buf_puts(b, "{");
        for (size_t i = 0; labels[i]; i += 2) {
            api_buf_printf(b, "%s%s=\"", i ? "," : "", labels[i]);
            api_buf_prom_label(b, labels[i + 1]);
            api_buf_puts(b, "\"");
        }
        api_buf_puts(b, "}");
    }
    api_buf_puts(b, " ");
    api_buf_double(b, v);
    api_buf_puts(b, "\n");
}

struct kr_gauge {
    const char *name, *help;
    size_t offset; /* of the double in struct okr_result */
};

static const struct kr_gauge kr_gauges[] = {
    { "okrd_kr_value", "The key result's value v(t): its metric's aggregate at the last evaluation.",
      offsetof(struct okr_result, value) },
    { "okrd_kr_progress",
      "Progress (v - baseline) / (target - baseline), unclamped; 1 = target reached.",
      offsetof(struct okr_result, progress) },
    { "okrd_kr_expected_progress", "Progress the pace expects by now (0..1).",
      offsetof(struct okr_result, expected) },
    { "okrd_kr_projected_score", "Projected share of the target at the cycle's end.",
      offsetof(struct okr_result, projected_score) },
    { "okrd_kr_score", "Score clamp(progress, 0, 1); from the cycle's end the final grade.",
      offsetof(struct okr_result, score) },
};

static void key_results(struct api_buf *b, const struct eval_snapshot *s)
{
    for (size_t g = 0; g < sizeof kr_gauges / sizeof *kr_gauges; g++) {
        family(b, kr_gauges[g].name, "gauge", kr_gauges[g].help);
        for (size_t i = 0; s && i < s->n_krs; i++) {
            const char *labels[] = { "objective", s->krs[i]->objective->id, "key_result",
                                     s->krs[i]->id, NULL };
            double v = *(const double *)((const char *)&s->results[i] + kr_gauges[g].offset);
            sample(b, kr_gauges[g].name, labels, v);
        }
    }
    /* DESIGN section 9: omitted while the forecast is null. */
    family(b, "okrd_kr_forecast_probability", "gauge",
           "How likely the key result is to reach its target at the cycle's end (0..1).");
    for (size_t i = 0; s && i < s->n_krs; i++) {
        if (!s->results[i].forecast.defined)
            continue;
        const char *labels[] = { "objective", s->krs[i]->objective->id, "key_result",
                                 s->krs[i]->id, NULL };
        sample(b, "okrd_kr_forecast_probability", labels, s->results[i].forecast.probability);
    }
    family(b, "okrd_kr_stale", "gauge", "1 when the key result's metric has no recent point.");
    for (size_t i = 0; s && i < s->n_krs; i++) {
        const char *labels[] = { "objective", s->krs[i]->objective->id, "key_result", s->krs[i]->id,
                                 NULL };
        sample(b, "okrd_kr_stale", labels, s->stale[i] ? 1 : 0);
    }
    family(b, "okrd_kr_status", "gauge",
           "The key result's status: one sample per status, 1 for the current one.");
    for (size_t i = 0; s && i < s->n_krs; i++)
        for (int st = 0; st < OKR_N_STATUSES; st++) {
            const char *labels[] = { "objective", s->krs[i]->objective->id, "key_result",
                                     s->krs[i]->id, "status", okr_status_name(st), NULL };
            sample(b, "okrd_kr_status", labels, s->results[i].status == (enum okr_status)st);
        }
    /* The status of section 4, before any check-in's override (DESIGN
     * section 8): equal to okrd_kr_status unless an override holds. */
    family(b, "okrd_kr_computed_status", "gauge",
           "The key result's computed status (before a check-in's override): one sample per "
           "status, 1 for the current one.");
    for (size_t i = 0; s && i < s->n_krs; i++) {
        enum okr_status cur = s->computed ? s->computed[i] : s->results[i].status;
        for (int st = 0; st < OKR_N_STATUSES; st++) {
            const char *labels[] = { "objective", s->krs[i]->objective->id, "key_result",
                                     s->krs[i]->id, "status", okr_status_name(st), NULL };
            sample(b, "okrd_kr_computed_status", labels, cur == (enum okr_status)st);
        }
    }
    family(b, "okrd_objective_score", "gauge", "Weighted average score of the objective's members.");
    for (size_t o = 0; s && o < s->cfg->n_objectives; o++) {
        const char *labels[] = { "objective", s->cfg->objectives[o].id, NULL };
        sample(b, "okrd_objective_score", labels, s->objs[o].score);
    }
    family(b, "okrd_objective_projected_score", "gauge",
           "Weighted average projected score of the objective's members.");
    for (size_t o = 0; s && o < s->cfg->n_objectives; o++) {
        const char *labels[] = { "objective", s->cfg->objectives[o].id, NULL };
        sample(b, "okrd_objective_projected_score", labels, s->objs[o].projected_score);
    }
    family(b, "okrd_evaluation_timestamp_seconds", "gauge",
           "When the evaluation these figures come from ran (Unix seconds).");
    if (s)
        sample(b, "okrd_evaluation_timestamp_seconds", NULL, (double)s->at_s);
}

static const char *const result_names[] = { "delivered", "retried", "dead" };

void api_metrics_write_krs(struct api_buf *b, const struct eval_snapshot *snap)
{
    key_results(b, snap);
}

void api_metrics_write(struct api_buf *b, const struct api_metrics_in *in)
{
    key_results(b, in->snap);
    api_metrics_write_rest(b, in);
}

void api_metrics_write_rest(struct api_buf *b, const struct api_metrics_in *in)
{

    family(b, "okrd_source_up", "gauge",
           "1 when the source's last poll succeeded (a csv_dir or push source: running).");
    for (size_t i = 0; i < in->n_sources; i++) {
        const struct api_source_stat *st = &in->sources[i];
        const char *labels[] = { "source", st->id, NULL };
        if (st->configured && st->up >= 0)
            sample(b, "okrd_source_up", labels, st->up);
    }
    family(b, "okrd_points_ingested_total", "counter",
           "Points committed to the store by each source since okrd started.");
    for (size_t i = 0; i < in->n_sources; i++) {
        const char *labels[] = { "source", in->sources[i].id, NULL };
        if (in->sources[i].configured)
            sample(b, "okrd_points_ingested_total", labels, (double)in->sources[i].points);
    }
    family(b, "okrd_webhook_deliveries_total", "counter",
           "Webhook delivery attempts since okrd started, by outcome.");
    for (size_t i = 0; i < in->n_webhooks; i++)
        for (int r = 0; r < 3 && in->webhooks[i].configured; r++) {
            const char *labels[] = { "webhook", in->webhooks[i].id, "result", result_names[r], NULL };
            sample(b, "okrd_webhook_deliveries_total", labels, (double)in->webhooks[i].count[r]);
        }
    family(b, "okrd_outbox_pending", "gauge", "Alert events not yet delivered to every webhook.");
    sample(b, "okrd_outbox_pending", NULL, (double)in->outbox_pending);
    if (in->have_role) {
        family(b, "okrd_ha_leader", "gauge",
               "1 while this node is the leader and may act (always 1 with the SQLite store).");
        sample(b, "okrd_ha_leader", NULL, in->leader ? 1 : 0);
    }

    const struct api_process *p = in->process;
    if (!p)
        return;
    family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    sample(b, "process_cpu_seconds_total", NULL, p->cpu_seconds);
    family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    sample(b, "process_resident_memory_bytes", NULL, p->resident_bytes);
    family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    sample(b, "process_virtual_memory_bytes", NULL, p->virtual_bytes);
    family(b, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    sample(b, "process_start_time_seconds", NULL, p->start_time_s);
    family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    sample(b, "process_open_fds", NULL, p->open_fds);
    family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    sample(b, "process_max_fds", NULL, p->max_fds);
}

/* Fields 14 (utime), 15 (stime), 22 (starttime), 23 (vsize), 24 (rss) of
 * /proc/self/stat; the command name (field 2) may hold spaces and ')', so
 * parsing starts after the LAST ')'. */
static bool read_stat(unsigned long long *f, size_t n_f)
{
    char buf[1024];
    FILE *fp = fopen("/proc/self/stat", "re");
    if (!fp)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return false;
    p += 2;              /* ") " */
    memset(f, 0, n_f * sizeof *f);
    while (*p && *p != ' ')
        p++;             /* field 3, the state letter */
    size_t field = 4;
    while (*p && field < 3 + n_f) {
        char *end;
        f[field - 3] = strtoull(p, &end, 10);
        if (end == p)
            return false;
        p = end;
        field++;
    }
    return field >= 25;
}

double api_process_start_time(void)
{
    unsigned long long f[22];
    if (!read_stat(f, 22))
        return NAN;
    FILE *fp = fopen("/proc/stat", "re");
    if (!fp)
        return NAN;
    char line[256];
    double btime = NAN;
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, "btime ", 6) == 0) {
            btime = strtod(line + 6, NULL);
            break;
        }
    fclose(fp);
    long tck = sysconf(_SC_CLK_TCK);
    return tck > 0 ? btime + (double)f[22 - 3] / (double)tck : NAN;
}

void api_process_read(struct api_process *p, double start_time_s)
{
    p->resident_bytes = p->virtual_bytes = p->cpu_seconds = p->open_fds = p->max_fds = NAN;
    p->start_time_s = start_time_s;
    unsigned long long f[22];
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (read_stat(f, 22) && tck > 0 && page > 0) {
        p->cpu_seconds = (double)(f[14 - 3] + f[15 - 3]) / (double)tck;
        p->virtual_bytes = (double)f[23 - 3];
        p->resident_bytes = (double)f[24 - 3] * (double)page;
    }
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        double n = 0;
        struct dirent *de;
        while ((de = readdir(dir)))
            n += de->d_name[0] != '.';
        closedir(dir);
        p->open_fds = n - 1; /* the directory's own fd */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        p->max_fds = (double)rl.rlim_cur;
}
