: Kv3.1 (Shaw-related) fast delayed rectifier.
: Rettig et al. (1992), EMBO J 11:2473.

NEURON {
    SUFFIX Kv3_1
    USEION k READ ek WRITE ik
    RANGE gbar, g, ik
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gbar = 0.00001 (S/cm2)
    vshift = 0 (mV)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    mInf
    mTau
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    g = gbar*m
    ik = g*(v - ek)
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
    UNITSOFF
    mInf = 1/(1 + exp((v - (18.7 + vshift))/(-9.7)))
    mTau = 0.2*20.0/(1 + exp((v - (-46.56 + vshift))/(-44.14)))
    UNITSON
}
