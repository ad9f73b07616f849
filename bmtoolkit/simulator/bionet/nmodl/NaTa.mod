: Transient sodium current, axonal variant.
: Kinetics after Colbert & Pan (2002), Nat Neurosci 5:533; Hodgkin-Huxley m^3 h form with
: half-activation -48 mV and half-inactivation -69 mV. q10 = 2.3 from 23 degC.

NEURON {
    SUFFIX NaTa
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
    malphaF = 0.182
    mbetaF = 0.124
    mvhalf = -48 (mV)
    mk = 6 (mV)
    halphaF = 0.015
    hbetaF = 0.015
    hvhalf = -69 (mV)
    hk = 6 (mV)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
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
    g = gbar*m*m*m*h
    ina = g*(v - ena)
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

PROCEDURE rates() {
    LOCAL qt, am, bm, ah, bh
    qt = 2.3^((celsius - 23)/10)
    UNITSOFF
    am = malphaF*efun(-(v - mvhalf), mk)
    bm = mbetaF*efun(v - mvhalf, mk)
    mInf = am/(am + bm)
    mTau = (1/(am + bm))/qt
    ah = halphaF*efun(v - hvhalf, hk)
    bh = hbetaF*efun(-(v - hvhalf), hk)
    hInf = ah/(ah + bh)
    hTau = (1/(ah + bh))/qt
    UNITSON
}

FUNCTION efun(x, y) {
    : x/(exp(x/y) - 1) with its limit y(1 - x/(2y)) near x = 0
    UNITSOFF
    if (fabs(x/y) < 1e-6) {
        efun = y*(1 - x/y/2)
    } else {
        efun = x/(exp(x/y) - 1)
    }
    UNITSON
}
