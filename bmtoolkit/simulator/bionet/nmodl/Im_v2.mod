: M-type potassium current, second form.
: After the Im model of Vervaeke et al. (2006), Neuron 49:257. q10 = 2.3 from 30 degC.

NEURON {
    SUFFIX Im_v2
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
    qt = 2.3^((celsius - 30)/10)
    UNITSOFF
    am = 0.007*exp((6*0.4*(v + 48))/26.12)
    bm = 0.007*exp((-6*(1 - 0.4)*(v + 48))/26.12)
    mInf = am/(am + bm)
    mTau = (15 + 1/(am + bm))/qt
    UNITSON
}
