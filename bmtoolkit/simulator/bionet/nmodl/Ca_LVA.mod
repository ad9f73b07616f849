: Low-voltage-activated (T-type) calcium current.
: Avery & Johnston (1996), J Neurosci 16:5567; time constants after Randall & Tsien (1997).
: Shifted by -10 mV for the junction potential; q10 = 2.3 from 21 degC.

NEURON {
    SUFFIX Ca_LVA
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
    LOCAL qt, u
    qt = 2.3^((celsius - 21)/10)
    UNITSOFF
    u = v + 10
    mInf = 1.0/(1 + exp((u + 30)/-6))
    mTau = (5.0 + 20.0/(1 + exp((u + 25)/5)))/qt
    hInf = 1.0/(1 + exp((u + 80)/6.4))
    hTau = (20.0 + 50.0/(1 + exp((u + 40)/7)))/qt
    UNITSON
}
