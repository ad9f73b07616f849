: Hyperpolarisation-activated cation current (HCN).
: Kole, Hallermann & Stuart (2006), J Neurosci 26:1677.

NEURON {
    SUFFIX Ih
    NONSPECIFIC_CURRENT ihcn
    RANGE gbar, g, ihcn, ehcn
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gbar = 0.00001 (S/cm2)
    ehcn = -45.0 (mV)
}

ASSIGNED {
    v (mV)
    ihcn (mA/cm2)
    g (S/cm2)
    mInf
    mTau
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m
    ihcn = g*(v - ehcn)
}

DERIVATIVE states {
    rates()
    m' = (mInf - m)/mTau
}

INITIAL {
    rates()
    m = mInf
}

PROCEDURE rates() {
    LOCAL am, bm
    UNITSOFF
    am = 0.001*6.43*efun(v + 154.9, 11.9)
    bm = 0.001*193*exp(v/33.1)
    mInf = am/(am + bm)
    mTau = 1/(am + bm)
    UNITSON
}

FUNCTION efun(x, y) {
    UNITSOFF
    if (fabs(x/y) < 1e-6) {
        efun = y*(1 - x/y/2)
    } else {
        efun = x/(exp(x/y) - 1)
    }
    UNITSON
}
