"""Procurement evaluation: suites (datasets), the sealed lifecycle, runs against candidate
models through the gateway's policy, scorers, statistics, scorecards and reports.

Words as in the domain: a *suite* is a JSONL file of *items*; a *run* asks every *candidate*
every item and keeps *transcripts*; *scoring* turns transcripts into *scores* without calling
the candidates again; a *scorecard* combines gates and weighted parts; a *report* shows it.
"""
