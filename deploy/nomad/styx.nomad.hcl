# Nomad: a macronode of Styx gateways with Nomad's native service discovery (no Consul needed).
# PostgreSQL, NATS (with -js), Redis and S3 run elsewhere; their URLs come from Nomad Variables:
#   nomad var put nomad/jobs/styx STYX_DATABASE_URL=… STYX_REDIS_URL=… STYX_S3_ACCESS_KEY_ID=… STYX_S3_SECRET_ACCESS_KEY=… STYX_ADMIN_TOKEN=… STYX_SECRET_KEY="$(openssl rand -base64 32)"
#   nomad job run deploy/nomad/styx.nomad.hcl
job "styx" {
  datacenters = ["*"]
  type        = "service"

  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "10s"
    healthy_deadline  = "3m"
    auto_revert       = true
  }

  group "gateway" {
    count = 2

    spread {
      attribute = "${node.unique.id}"
    }

    network {
      port "http" {
        to = 8080
      }
    }

    service {
      name     = "styx"
      provider = "nomad"
      port     = "http"
      tags     = ["styx", "metrics"]

      # Readiness: 503 while writes are shed or a dependency is down; the load balancer skips it.
      check {
        name     = "styx-ready"
        type     = "http"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }

      # Liveness: the process answers.
      check {
        name     = "styx-health"
        type     = "http"
        path     = "/v1/styx/health"
        interval = "10s"
        timeout  = "3s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    # One-shot `styx migrate` before the gateway starts.
    task "migrate" {
      driver = "docker"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        image = "ghcr.io/styx/styx:0.1.0"
        args  = ["migrate"]
      }

      template {
        destination = "secrets/styx.env"
        env         = true
        data        = <<EOT
{{ with nomadVar "nomad/jobs/styx" }}{{ range .Tuples }}{{ .K }}={{ .V }}
{{ end }}{{ end }}
EOT
      }

      env {
        STYX_PROFILE = "macro"
        STYX_CLUSTER = "styx"
      }
    }

    task "styx" {
      driver = "docker"

      config {
        image = "ghcr.io/styx/styx:0.1.0"
        args  = ["serve"]
        ports = ["http"]
      }

      template {
        destination = "secrets/styx.env"
        env         = true
        data        = <<EOT
{{ with nomadVar "nomad/jobs/styx" }}{{ range .Tuples }}{{ .K }}={{ .V }}
{{ end }}{{ end }}
EOT
      }

      env {
        STYX_PROFILE          = "macro"
        STYX_CLUSTER          = "styx"
        STYX_PORT             = "8080"
        STYX_NATS_URL         = "nats://nats.service.internal:4222"
        STYX_S3_ENDPOINT      = "https://s3.example"
        STYX_S3_BUCKET        = "styx-blobs"
        STYX_SHUTDOWN_DRAIN   = "5s"
        STYX_SHUTDOWN_TIMEOUT = "20s"
      }

      # SIGTERM, then STYX_SHUTDOWN_DRAIN of /readyz 503 (the check fails, traffic moves away),
      # then STYX_SHUTDOWN_TIMEOUT to finish in-flight work before Nomad kills the task.
      kill_timeout = "30s"

      resources {
        cpu    = 1000
        memory = 1024
      }
    }
  }
}
