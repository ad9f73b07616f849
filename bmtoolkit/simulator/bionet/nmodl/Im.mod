: Muscarinic (M-type) potassium current.
: Adams, Brown & Constanti (1982), J Physiol 330:537. q10 = 2.3 from 21 degC.

NEURON {
    SUFFIX Im
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
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    g (S/cm2)
    celsius (degC)
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
    LOCAL qt, am, bm
    qt = 2.3^((celsius - 21)/10)
    UNITSOFF
    am = 3.3e-3*exp(2.5*0.04*(v + 35))
    bm = 3.3e-3*exp(-2.5*0.04*(v + 35))
    mInf = am/(am + bm)
    mTau = (1/(am + bm))/qt
    UNITSON
}
