"""GB/T 27930-2015 charger ↔ BMS communication on the bench Clock.

Modules, one job each:
  catalogue  the 22 messages as data          codec      payload ↔ dict of physical values
  ids        29-bit ID ↔ priority/PGN/addresses transport  J1939 TP (RTS/CTS, BAM), endpoint and observer
  findings   deviations as data                 timing     every protocol time figure and its source
  node       what both actors share             bms        BmsEmulator (vehicle side, the bench)
  bms_config BmsConfig from the profile         battery    the emulated battery's state
  charger    ChargerStateMachine (simulated DC charger)     hooks      what it needs from the plant
  monitor    ConformanceMonitor                 trace      TraceRecorder (.asc, .blf, candump)
  decode     trace file → report (`bench decode`)
  dbc        the catalogue as gbt27930.dbc      extension  the 4.2.7 extension frame (EXTENSION.md)
"""
