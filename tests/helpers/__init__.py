"""Helpers shared by the tests, importable as ``tests.helpers.<module>`` (fixtures stay in conftest.py files).

- ``waiting``: ``wait_for``; ``require``: fail or skip when a peer is missing;
- ``spool``: a small data tree, requests, the spool command and the daemon as a process;
  ``cheap_daemon``: the real daemon with cheap steps, run as a script;
- ``poison``, ``hostile``: the poison-pill and hostile-request corpora;
- ``slurm``: StepJobs of shell tasks driven through the real Slurm;
- ``mail``: the loopback Dovecot/Postfix as a typed helper; ``mail_daemon``: the daemon with quick steps for the mail tests;
- ``chain``: hand-made DL1 events and models trained by the real lstchain;
- ``highlevel``: simulated nights to DL3 and the gammapy peer for the high-level tests.
"""
