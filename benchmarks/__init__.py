"""libranas' benchmark studies: every number of the results files, rerunnable.

``python -m benchmarks list`` names every study (what it measures, its results files, its time
on the reference machine); ``python -m benchmarks run STUDY [--quick]`` regenerates one. The
registry is :mod:`benchmarks.studies`; the helpers every study shares are in
``benchmarks/_common.py``. Each study is one module that still runs on its own
(``python benchmarks/STUDY.py ...``), with its protocol in its docstring.
"""
