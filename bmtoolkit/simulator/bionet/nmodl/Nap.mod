: Persistent sodium current.
: Steady-state activation and inactivation kinetics from Magistretti & Alonso (1999),
: J Gen Physiol 114:491; activation is instantaneous. q10 = 2.3 from 21 degC.

NEURON {
    SUFFIX Nap
    USEION na READ ena WRITE ina
    RANGE gbar, g, ina
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    g (S/cm2)
    celsius (degC)
    mInf
    hInf
    hTau
}

STATE { h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    rates()
    g = gbar*mInf*h
    ina = g*(v - ena)
}

DERIVATIVE states {
    rates()
    h' = (hInf - h)/hTau
}

INITIAL {
    rates()
    h = hInf
}

PROCEDURE rates() {
    LOCAL qt, ah, bh
    qt = 2.3^((celsius - 21)/10)
    UNITSOFF
    mInf = 1.0/(1 + exp((v + 52.6)/-4.6))
    hInf = 1.0/(1 + exp((v + 48.8)/10))
    ah = 2.88e-6*efun(v + 17, 4.63)
    bh = 6.94e-6*efun(-(v + 64.4), 2.63)
    hTau = (1/(ah + bh))/qt
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
