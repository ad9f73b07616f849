: High-voltage-activated calcium current.
: Reuveni, Friedman, Amitai & Gutnick (1993), J Neurosci 13:4609.

NEURON {
    SUFFIX Ca_HVA
    USEION ca READ eca, cai, cao WRITE ica
    RANGE gbar, g, ica
    GLOBAL legacy_nernst
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gbar = 0.00001 (S/cm2)
    : 1: reversal potential from cai/cao with the gas constant and Faraday constant of
    : NEURON < 8 (8.313424 J/K/mol, 96485.309 C/mol), with which the published Allen models
    : were fitted and run; 0: NEURON's own eca (CODATA 2018 constants)
    legacy_nernst = 1
}

ASSIGNED {
    v (mV)
    eca (mV)
    cai (mM)
    cao (mM)
    ica (mA/cm2)
    g (S/cm2)
    celsius (degC)
    mInf
    mTau
    hInf
    hTau
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m*m*h
    ica = g*(v - erev())
}

DERIVATIVE states {
    rates()
    m' = (mInf - m)/mTau
    h' = (hInf - h)/hTau
}

INITIAL {
    rates()
    m = mInf
    h = hInf
}

FUNCTION erev() (mV) {
    UNITSOFF
    if (legacy_nernst) {
        erev = (1000*8.313424*(celsius + 273.15)/(2*96485.309))*log(cao/cai)
    } else {
        erev = eca
    }
    UNITSON
}

PROCEDURE rates() {
    LOCAL am, bm, ah, bh
    UNITSOFF
    am = 0.055*efun(-27 - v, 3.8)
    bm = 0.94*exp((-75 - v)/17)
    mInf = am/(am + bm)
    mTau = 1/(am + bm)
    ah = 0.000457*exp((-13 - v)/50)
    bh = 0.0065/(exp((-v - 15)/28) + 1)
    hInf = ah/(ah + bh)
    hTau = 1/(ah + bh)
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
