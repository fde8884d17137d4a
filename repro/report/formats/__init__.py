"""The report's formats, one writer file each: `SUFFIX` (the file it writes,
results/<profile>/<table><SUFFIX>) and `render(table, cells) -> text`, with `table` a
repro/report/reported.py::ReportedTable and `cells` the cell model
(repro/report/cells.py). repro/report/build.py is the one caller; `console` renders for a
terminal and writes no file."""
