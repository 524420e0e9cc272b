"""High-level results of LST-1 DL3 runs: θ², Li & Ma, sky maps, run diagnostics, summary.json, report.html.

Entry points: :func:`lappana.highlevel.analysis.make_highlevel` (everything, as
``lappana report``), :func:`lappana.highlevel.theta2.theta2`,
:func:`lappana.highlevel.skymap.make_skymap`,
:func:`lappana.highlevel.diagnostics.run_diagnostics`,
:func:`lappana.highlevel.summary.write_summary`, :func:`lappana.highlevel.report.write_report`.
Modules are imported on demand so that importing the package stays light.
"""
