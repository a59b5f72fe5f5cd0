"""Reports a lab files: the run record's schema, the Allure HTML report, the clause-by-clause
conformance report (HTML and PDF), all built from what a run wrote."""
