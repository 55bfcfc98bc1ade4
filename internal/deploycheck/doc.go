// Package deploycheck holds the static checks of the Docker/k3d path (`make
// up`), which cannot run on machines without a Docker engine: compose.yml
// is loaded with compose-go and checked against the configuration files it
// mounts and the addresses they name; the Kubernetes manifests are decoded
// strictly with client-go's scheme; the Roles are compared with one table
// of the API calls the code makes, which a recording client checks against
// the code itself; the Dockerfiles' base images are pinned and they copy
// every file their Go build needs. shellcheck of the scripts runs in `make
// lint`. The package has no code of its own: everything is in its tests.
// docs/deploy.md says what these checks cover and what only a real `make
// up` can show.
package deploycheck
