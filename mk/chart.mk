# Chart tier: render deploy/helm/crm in every scenario of deploy/helm/crm/ci/ and validate each
# manifest against the Kubernetes schemas. Uses helm when installed, else a small Go renderer that
# tests/chart/setup.sh builds from Debian packages (installing them when run as root).
# Expects the including Makefile to define PYTHON (the venv's python) and VENV_STAMP.
# `make images` / `make images-push` build and push the images the chart deploys (below).

.PHONY: chart-test chart-clean

chart-test: $(VENV_STAMP)
	bash tests/chart/setup.sh
	$(PYTHON) -m pytest tests/chart -q

chart-clean:
	rm -rf tests/chart/.bin

# Images the chart deploys: one per service, built from services/<service>/Dockerfile with the
# repository root as context, named <REGISTRY>/crm-<service>:<TAG> as the chart's defaults expect
# (install with --set global.imageRegistry=<REGISTRY> --set global.imageTag=<TAG>).
IMAGE_SERVICES := $(patsubst services/%/Dockerfile,%,$(wildcard services/*/Dockerfile))
REGISTRY ?= ghcr.io/example
TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p' deploy/helm/crm/Chart.yaml)
DOCKER ?= docker
IMAGE_TARGETS := $(addprefix image-,$(IMAGE_SERVICES))
PUSH_TARGETS := $(addprefix push-image-,$(IMAGE_SERVICES))

.PHONY: images images-push $(IMAGE_TARGETS) $(PUSH_TARGETS)

images: $(IMAGE_TARGETS)

images-push: $(PUSH_TARGETS)

$(IMAGE_TARGETS): image-%:
	$(DOCKER) build -f services/$*/Dockerfile -t $(REGISTRY)/crm-$*:$(TAG) .

$(PUSH_TARGETS): push-image-%: image-%
	$(DOCKER) push $(REGISTRY)/crm-$*:$(TAG)
