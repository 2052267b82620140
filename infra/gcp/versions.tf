terraform {
  # 1.5: `check` blocks (function URLs) and preconditions on data sources (missing bundles).
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# Only the service account linked in Producer Portal ("Link a service account to subscribe to
# Pub/Sub topic") may attach a subscription to Google's marketplace topic, so the subscription is
# created as that account. Left null, it is created with the caller's own credentials.
provider "google" {
  alias                       = "marketplace_subscriber"
  project                     = var.project_id
  region                      = var.region
  impersonate_service_account = var.subscriber_service_account
}
