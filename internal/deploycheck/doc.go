// Package deploycheck holds the static checks of the Docker/k3d path (`make
// up`), which cannot run on machines without a Docker engine: compose.yml
// is loaded with compose-go, the Kubernetes manifests are decoded strictly
// with client-go's scheme, the Roles are compared with the API calls the
// code makes, the entry script goes through shellcheck and the Dockerfiles'
// base images and paths are checked. The package has no code of its own:
// everything is in its tests. docs/deploy.md says what these checks cover
// and what only a real `make up` can show.
package deploycheck
