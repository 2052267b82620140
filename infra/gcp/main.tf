# marketplace-connector on Google Cloud: the functions of functions/gcp/manifest.ts on Cloud Run
# functions (gen2), a push subscription on Google's marketplace topic, Firestore, an hourly
# usage report and the IAM that ties them together. See README.md for the steps around it.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  marketplace_topic  = coalesce(var.marketplace_topic, "projects/cloudcommerceproc-prod/topics/${var.project_id}")
  dist_dir           = coalesce(var.dist_dir, "${path.module}/../../dist/gcp")
  source_bucket_name = coalesce(var.source_bucket_name, "${var.project_id}-${var.name_prefix}-function-sources")
  pubsub_agent       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # One entry per manifest function (keys are the manifest names and the dist/gcp folders).
  function_names = {
    "events"       = "${var.name_prefix}-events"
    "signup"       = "${var.name_prefix}-signup"
    "usage-report" = "${var.name_prefix}-usage-report"
  }

  # The URL each function gets. Computed here, not read from the function resource, because the
  # events and usage-report functions must know their own URL (the audience of the OIDC tokens
  # they accept); a `check` in functions.tf compares it with the URL Google assigns.
  function_urls = {
    for key, name in local.function_names : key => "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}"
  }

  # What each function runs and reads. The env maps list exactly the manifest's variables that are
  # set (plus NODE_ENV); PROCUREMENT_API_URL, SERVICE_CONTROL_API_URL and GOOGLE_CERTS_URL stay
  # unset so the code's Google defaults apply. Secrets are in secret_env, never in env.
  functions = {
    "events" = {
      description     = "Marketplace Pub/Sub pushes: re-reads the account or entitlement and applies the decision."
      entry_point     = "gcpEventsPush"
      timeout_seconds = 60
      max_instances   = 10
      env = {
        NODE_ENV              = "production"
        STORE_BACKEND         = "firestore"
        FIRESTORE_PROJECT_ID  = var.project_id
        FIRESTORE_DATABASE_ID = google_firestore_database.this.name
        EVENT_RETENTION_DAYS  = tostring(var.event_retention_days)
        LOG_LEVEL             = var.log_level
        GCP_PROVIDER_ID       = var.provider_id
        PUSH_AUDIENCE         = local.function_urls["events"]
        PUSH_SERVICE_ACCOUNT  = google_service_account.push.email
        APPROVAL_POLICY       = var.approval_policy
        APPROVAL_PLANS        = join(",", var.approval_plans)
        SIGNUP_MESSAGE        = var.signup_message
      }
      secret_env = {}
    }
    "signup" = {
      description     = "Signup URL of the listing: verifies Google's JWT, approves the account, hands the buyer to the app."
      entry_point     = "gcpSignup"
      timeout_seconds = 60
      max_instances   = 10
      env = {
        NODE_ENV              = "production"
        STORE_BACKEND         = "firestore"
        FIRESTORE_PROJECT_ID  = var.project_id
        FIRESTORE_DATABASE_ID = google_firestore_database.this.name
        EVENT_RETENTION_DAYS  = tostring(var.event_retention_days)
        LOG_LEVEL             = var.log_level
        GCP_PROVIDER_ID       = var.provider_id
        PRODUCT_DOMAINS       = join(",", var.product_domains)
        APPROVAL_POLICY       = var.approval_policy
        APPROVAL_PLANS        = join(",", var.approval_plans)
        SIGNUP_MESSAGE        = var.signup_message
        ONBOARDING_URL        = var.onboarding_url
        HANDOFF_TTL_SECONDS   = tostring(var.handoff_ttl_seconds)
      }
      secret_env = {
        HANDOFF_SECRET = {
          secret  = var.handoff_secret_id
          version = var.handoff_secret_version
        }
      }
    }
    "usage-report" = {
      description     = "Hourly: reports closed usage hours to Service Control, exactly once."
      entry_point     = "gcpUsageReport"
      timeout_seconds = 540
      # One sweep at a time: the ledger keeps reports exactly-once, this keeps them uncontended.
      max_instances = 1
      env = {
        NODE_ENV                  = "production"
        STORE_BACKEND             = "firestore"
        FIRESTORE_PROJECT_ID      = var.project_id
        FIRESTORE_DATABASE_ID     = google_firestore_database.this.name
        EVENT_RETENTION_DAYS      = tostring(var.event_retention_days)
        LOG_LEVEL                 = var.log_level
        USAGE_SERVICE_NAME        = var.usage_service_name
        USAGE_METRICS             = jsonencode(var.usage_metrics)
        SCHEDULER_AUDIENCE        = local.function_urls["usage-report"]
        SCHEDULER_SERVICE_ACCOUNT = google_service_account.scheduler.email
      }
      secret_env = {}
    }
  }
}

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudcommerceprocurement.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicecontrol.googleapis.com",
    "servicemanagement.googleapis.com",
    "storage.googleapis.com",
  ])

  project = var.project_id
  service = each.value
  # Other workloads in the listing project may use these APIs too: never switch them off.
  disable_on_destroy = false
}
