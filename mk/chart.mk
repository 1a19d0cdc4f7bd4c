# Chart tier: render deploy/helm/crm in every scenario of deploy/helm/crm/ci/ and validate each
# manifest against the Kubernetes schemas. Uses helm when installed, else a small Go renderer that
# tests/chart/setup.sh builds from Debian packages (installing them when run as root).
# Expects the including Makefile to define PYTHON (the venv's python) and VENV_STAMP.

.PHONY: chart-test chart-clean

chart-test: $(VENV_STAMP)
	bash tests/chart/setup.sh
	$(PYTHON) -m pytest tests/chart -q

chart-clean:
	rm -rf tests/chart/.bin
