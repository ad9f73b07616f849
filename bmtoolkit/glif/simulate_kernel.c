/*
 * One GLIF model on one stimulus, every sample recorded (bmtoolkit.glif.simulate.simulate).
 *
 * The same update, operation by operation and in the same order, as the Python loop of
 * simulate.py (Python floats are IEEE doubles). Compiled by bmtoolkit.native with
 * -ffp-contract=off, so every product and sum is rounded as Python rounds it and the
 * voltage, threshold and spike samples are the same, bit for bit.
 *
 * Constants, in this order (the consts array of simulate() in simulate.py):
 *   el alpha beta th_inf reset_rules ra rb a_s ths_decay ths_cut tv_decay tv_u tv_i cut
 * After-spike constants, m values each of avg, dec, amp, cut (4 x m doubles).
 */
#include <stdint.h>

#define NCONST 14

/* Returns the number of spikes written to spikes (at most n), or -1 for n < 1. */
int64_t glif_simulate(int64_t n, int64_t m,
                      const double *stim,  /* n, A per sample */
                      double v0,           /* V at sample 0 */
                      const double *c,     /* NCONST */
                      const double *asc_c, /* 4 x m */
                      double *asc,         /* m, work space */
                      double *v,           /* n, out */
                      double *thr,         /* n, out */
                      int64_t *spikes)     /* n, out */
{
    if (n < 1)
        return -1;
    const double el = c[0], alpha = c[1], beta = c[2], th_inf = c[3];
    const int reset_rules = c[4] != 0.0;
    const double ra = c[5], rb = c[6], a_s = c[7], ths_decay = c[8], ths_cut = c[9];
    const double tv_decay = c[10], tv_u = c[11], tv_i = c[12];
    const int64_t cut = (int64_t)c[13];
    const double *avg = asc_c, *dec = asc_c + m, *amp = asc_c + 2 * m, *acut = asc_c + 3 * m;
    for (int64_t j = 0; j < m; j++)
        asc[j] = 0.0;
    double th_s = 0.0, th_vol = 0.0;
    int64_t n_spikes = 0, hold = 0;
    v[0] = v0;
    thr[0] = el + th_inf;
    for (int64_t k = 0; k < n - 1; k++) {
        if (hold > 0) {
            hold -= 1;
            v[k + 1] = v[k];
            thr[k + 1] = thr[k];
            continue;
        }
        double i_tot = stim[k];
        for (int64_t j = 0; j < m; j++) {
            i_tot += asc[j] * avg[j];
            asc[j] *= dec[j];
        }
        const double u_old = v[k] - el;
        double u = u_old * alpha + beta * i_tot;
        th_s *= ths_decay;
        th_vol = tv_decay * th_vol + tv_u * u_old + tv_i * i_tot;
        const double threshold = th_inf + th_s + th_vol;
        thr[k + 1] = el + threshold;
        if (u > threshold) {
            spikes[n_spikes++] = k + 1;
            if (reset_rules) {
                u = ra * u_old + rb;
                th_s = th_s * ths_cut + a_s;
            } else {
                u = 0.0;
            }
            for (int64_t j = 0; j < m; j++)
                asc[j] = amp[j] + asc[j] * acut[j];
            hold = cut;
        }
        v[k + 1] = el + u;
    }
    return n_spikes;
}
