"""Front ends of the simulated instruments: each speaks one instrument's wire protocol over the plant ports."""
