"""Feed sync: configuration (`config`), download, guard and apply (`apply`), one run
(`runner`), the scheduler inside the API process (`scheduler`), plain functions of
(settings, store) for the CLI and the admin API (`manage`), and the CLI (`commands`)."""
