/* tinchap call monitor — Admin/GetMonitor as an operator reads it: per model in service, the
 * grades of the monitoring window against the development sample's, the PSI of the score and
 * the CSI of each characteristic, each with its band (tinchap validate's). */
#include <math.h>
#include <stdio.h>

#include "call_monitor.h"
#include "tc_perf.h"
#include "tinchap/v1/admin.pb-c.h"

static const char *band(double v)
{
    return isnan(v) ? "no scores yet" : tc_psi_band(v);
}

/* "champion" for MODEL_STATUS_CHAMPION: the word the model files use. */
static const char *status_word(Tinchap__V1__ModelStatus st)
{
    switch (st) {
    case TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_CHAMPION:
        return "champion";
    case TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_CHALLENGER:
        return "challenger";
    case TINCHAP__V1__MODEL_STATUS__MODEL_STATUS_RETIRED:
        return "retired";
    default:
        return "unknown status";
    }
}

static void print_model(const Tinchap__V1__ModelMonitor *m)
{
    printf("%s version %u (%s, %s)\n", m->name, m->version, m->product, status_word(m->status));
    printf("  scores      %llu in the last %.0f s, %llu since start\n",
           (unsigned long long)m->window_scores, m->window_seconds,
           (unsigned long long)m->total_scores);
    if (m->has_development)
        printf("  PSI         %.4f  %s (score deciles of development, window against them)\n",
               m->psi, band(m->psi));
    else
        printf("  PSI         none: the model file has no development distribution\n");
    printf("  grade   min score   development      window   window share   change\n");
    for (size_t g = 0; g < m->n_grades; g++) {
        const Tinchap__V1__GradeMonitor *r = m->grades[g];
        printf("  %-5s %11g", r->grade, r->min_score);
        if (m->has_development)
            printf("   %9.2f %%", 100 * r->development_share);
        else
            printf("   %11s", "-");
        printf("  %10llu   %10.2f %%", (unsigned long long)r->window_scores,
               100 * r->window_share);
        if (m->has_development && m->window_scores > 0)
            printf("   %+6.2f\n", 100 * (r->window_share - r->development_share));
        else
            printf("   %6s\n", "-");
    }
    for (size_t c = 0; c < m->n_characteristics; c++) {
        const Tinchap__V1__CharacteristicMonitor *ch = m->characteristics[c];
        printf("  %s %-30s CSI %.4f  %s\n", c == 0 ? "CSI" : "   ", ch->attribute, ch->csi,
               band(ch->csi));
    }
}

int call_monitor_print(const ProtobufCMessage *msg)
{
    const Tinchap__V1__GetMonitorResponse *r = (const Tinchap__V1__GetMonitorResponse *)msg;
    printf("monitoring window %u s; bands: below 0.1 stable, 0.1-0.25 watch, above 0.25 act\n",
           r->window_seconds);
    for (size_t i = 0; i < r->n_models; i++) {
        putchar('\n');
        print_model(r->models[i]);
    }
    return 0;
}
