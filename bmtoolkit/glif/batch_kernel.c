/*
 * Spike counts of many GLIF models on many sweeps (bmtoolkit.glif.batch.batch_counts).
 *
 * The same update, term by term and in the same order, as the numpy loop of batch.py, one
 * (model, sweep) pair at a time. Compiled by bmtoolkit.native with -ffp-contract=off, so
 * every product and sum is rounded as numpy rounds it and the counts are the same.
 *
 * Per-model constants, one row of NCOL doubles per model (see batch.py, _KERNEL_COLUMNS):
 *   alpha beta th_inf rr ra rb a_s ths_decay ths_cut tv_decay tv_u tv_i cut
 * After-spike constants, per model m values each of avg, dec, amp, cut (4 x m doubles).
 */
#include <stdint.h>

#define NCOL 13
#define MAX_ASC 16

/* The loop for m after-spike currents. Inlined into glif_batch_counts once per common m as a
 * constant, so that the compiler unrolls the loops over the currents and keeps them in
 * registers (about 5x faster than with m known only at run time; the same operations). */
static inline __attribute__((always_inline)) void
count_pairs(int64_t n_p, int64_t n_s, int64_t n, int64_t m, int64_t n_w, const double *stim,
            const double *u0, const double *model, const double *asc_c, const int64_t *lo,
            const int64_t *hi, int64_t *out)
{
    for (int64_t p = 0; p < n_p; p++) {
        const double *c = model + p * NCOL;
        const double alpha = c[0], beta = c[1], th_inf = c[2], ra = c[4], rb = c[5];
        const double a_s = c[6], ths_decay = c[7], ths_cut = c[8];
        const double tv_decay = c[9], tv_u = c[10], tv_i = c[11];
        const int rr = c[3] != 0.0;
        const int64_t cut = (int64_t)c[12];
        const double *avg = asc_c + p * 4 * m, *dec = avg + m, *amp = dec + m, *acut = amp + m;
        for (int64_t s = 0; s < n_s; s++) {
            const double *st = stim + s * n;
            const int64_t *wlo = lo + s * n_w, *whi = hi + s * n_w;
            int64_t *o = out + (p * n_s + s) * n_w;
            double u = u0[p * n_s + s], ths = 0.0, thv = 0.0;
            double asc[MAX_ASC], asc_new[MAX_ASC];
            for (int64_t j = 0; j < m; j++)
                asc[j] = 0.0;
            for (int64_t k = 0; k < n - 1; k++) {
                double i_tot = st[k];
                if (m > 0) {
                    double sum = asc[0] * avg[0];
                    for (int64_t j = 1; j < m; j++)
                        sum = sum + asc[j] * avg[j];
                    i_tot = i_tot + sum;
                    for (int64_t j = 0; j < m; j++)
                        asc_new[j] = asc[j] * dec[j];
                }
                double u_new = u * alpha + beta * i_tot;
                double ths_new = ths * ths_decay;
                double thv_new = tv_decay * thv + tv_u * u + tv_i * i_tot;
                double threshold = th_inf + ths_new;
                threshold = threshold + thv_new;
                if (u_new > threshold) {
                    if (rr) {
                        u_new = ra * u + rb;
                        ths_new = ths_new * ths_cut + a_s;
                    } else {
                        u_new = 0.0;
                    }
                    for (int64_t j = 0; j < m; j++)
                        asc_new[j] = amp[j] + asc_new[j] * acut[j];
                    const int64_t at = k + 1;
                    for (int64_t w = 0; w < n_w; w++)
                        if (wlo[w] <= at && at < whi[w])
                            o[w] += 1;
                    /* the state holds during the cut: integration resumes at sample at + cut */
                    k += cut;
                }
                u = u_new;
                ths = ths_new;
                thv = thv_new;
                for (int64_t j = 0; j < m; j++)
                    asc[j] = asc_new[j];
            }
        }
    }
}

int glif_batch_counts(int64_t n_p, int64_t n_s, int64_t n, int64_t m, int64_t n_w,
                      const double *stim,   /* n_s x n, A per sample */
                      const double *u0,     /* n_p x n_s, V above El at sample 0 */
                      const double *model,  /* n_p x NCOL */
                      const double *asc_c,  /* n_p x 4 x m */
                      const int64_t *lo,    /* n_s x n_w, first sample of each window */
                      const int64_t *hi,    /* n_s x n_w, end of each window */
                      int64_t *out)         /* n_p x n_s x n_w, added to */
{
    switch (m) {
#define COUNT_PAIRS(M) count_pairs(n_p, n_s, n, M, n_w, stim, u0, model, asc_c, lo, hi, out)
    case 0: COUNT_PAIRS(0); return 0;
    case 1: COUNT_PAIRS(1); return 0;
    case 2: COUNT_PAIRS(2); return 0;
    case 3: COUNT_PAIRS(3); return 0;
    case 4: COUNT_PAIRS(4); return 0;
#undef COUNT_PAIRS
    default:
        if (m < 0 || m > MAX_ASC)
            return 1;
        count_pairs(n_p, n_s, n, m, n_w, stim, u0, model, asc_c, lo, hi, out);
        return 0;
    }
}
