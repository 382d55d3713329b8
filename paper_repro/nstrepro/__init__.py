# SPDX-License-Identifier: MIT
"""The reproduction harness behind paper_repro/run, as a package.

Modules, in the order a run uses them:
  util      paths, errors, messages, atomic writes, number formats, image sizes from file headers
  configs   figure configs: loading, validation, panel settings, the nst options of a panel
  masks     region masks generated at run time from the polygons in a figure config
  inputs    images (fetched and checked against the manifest), weights, nst binary, git commit
  render    running nst for each panel, caching and reuse, progress with an ETA
  assemble  the labelled figure PNG of each figure (Pillow)
  report    REPORT.md and report.json
  cli       command-line options and the main sequence
"""
