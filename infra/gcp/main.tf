# marketplace-connector on Google Cloud: the functions of functions/gcp/manifest.ts on Cloud Run
# functions (gen2), a push subscription on Google's marketplace topic, Firestore, the scheduled
# runs (usage report, webhooks, retention) and the IAM that ties them together. See README.md for
# the steps around it.

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
    "vendor-api"   = "${var.name_prefix}-vendor-api"
    "webhooks"     = "${var.name_prefix}-webhooks"
    "retention"    = "${var.name_prefix}-retention"
  }

  # The URL each function gets. Computed here, not read from the function resource, because the
  # functions that Pub/Sub or Cloud Scheduler call must know their own URL (the audience of the
  # OIDC tokens they accept); a `check` in functions.tf compares it with the URL Google assigns.
  function_urls = {
    for key, name in local.function_names : key => "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}"
  }

  # What each function runs and reads. The env maps list exactly the manifest's variables that are
  # set (plus NODE_ENV); PROCUREMENT_API_URL, SERVICE_CONTROL_API_URL and GOOGLE_CERTS_URL stay
  # unset so the code's Google defaults apply. Secrets are in secret_env, never in env; a secret
  # whose id is null is left out (the webhook secret is needed only once webhook_urls is set).
  # Every function that writes gets the WEBHOOK_* variables: it tries to deliver what it wrote at
  # once, and the webhooks function retries what is left.
  functions = {
    "events" = {
      description     = "Marketplace Pub/Sub pushes: re-reads the account or entitlement and applies the decision."
      entry_point     = "gcpEventsPush"
      timeout_seconds = 60
      max_instances   = 10
      env = {
        NODE_ENV                    = "production"
        STORE_BACKEND               = "firestore"
        FIRESTORE_PROJECT_ID        = var.project_id
        FIRESTORE_DATABASE_ID       = google_firestore_database.this.name
        EVENT_RETENTION_DAYS        = tostring(var.event_retention_days)
        LOG_LEVEL                   = var.log_level
        GCP_PROVIDER_ID             = var.provider_id
        PUSH_AUDIENCE               = local.function_urls["events"]
        PUSH_SERVICE_ACCOUNT        = google_service_account.push.email
        APPROVAL_POLICY             = var.approval_policy
        APPROVAL_PLANS              = join(",", var.approval_plans)
        SIGNUP_MESSAGE              = var.signup_message
        WEBHOOK_URLS                = join(",", var.webhook_urls)
        WEBHOOK_TIMEOUT_SECONDS     = tostring(var.webhook_timeout_seconds)
        WEBHOOK_RETRY_HORIZON_HOURS = tostring(var.webhook_retry_horizon_hours)
      }
      secret_env = {
        WEBHOOK_SECRETS = local.webhook_secret
      }
    }
    "signup" = {
      description     = "Signup URL of the listing: verifies Google's JWT, approves the account, hands the buyer to the app."
      entry_point     = "gcpSignup"
      timeout_seconds = 60
      max_instances   = 10
      env = {
        NODE_ENV                    = "production"
        STORE_BACKEND               = "firestore"
        FIRESTORE_PROJECT_ID        = var.project_id
        FIRESTORE_DATABASE_ID       = google_firestore_database.this.name
        EVENT_RETENTION_DAYS        = tostring(var.event_retention_days)
        LOG_LEVEL                   = var.log_level
        GCP_PROVIDER_ID             = var.provider_id
        PRODUCT_DOMAINS             = join(",", var.product_domains)
        APPROVAL_POLICY             = var.approval_policy
        APPROVAL_PLANS              = join(",", var.approval_plans)
        SIGNUP_MESSAGE              = var.signup_message
        ONBOARDING_URL              = var.onboarding_url
        HANDOFF_TTL_SECONDS         = tostring(var.handoff_ttl_seconds)
        WEBHOOK_URLS                = join(",", var.webhook_urls)
        WEBHOOK_TIMEOUT_SECONDS     = tostring(var.webhook_timeout_seconds)
        WEBHOOK_RETRY_HORIZON_HOURS = tostring(var.webhook_retry_horizon_hours)
      }
      secret_env = {
        HANDOFF_SECRET = {
          secret  = var.handoff_secret_id
          version = var.handoff_secret_version
        }
        WEBHOOK_SECRETS = local.webhook_secret
      }
    }
    "usage-report" = {
      description     = "Hourly: reports closed usage hours to Service Control, exactly once."
      entry_point     = "gcpUsageReport"
      timeout_seconds = 540
      # One sweep at a time: the ledger keeps reports exactly-once, this keeps them uncontended.
      max_instances = 1
      env = {
        NODE_ENV                    = "production"
        STORE_BACKEND               = "firestore"
        FIRESTORE_PROJECT_ID        = var.project_id
        FIRESTORE_DATABASE_ID       = google_firestore_database.this.name
        EVENT_RETENTION_DAYS        = tostring(var.event_retention_days)
        LOG_LEVEL                   = var.log_level
        USAGE_SERVICE_NAME          = var.usage_service_name
        USAGE_METRICS               = jsonencode(var.usage_metrics)
        SCHEDULER_AUDIENCE          = local.function_urls["usage-report"]
        SCHEDULER_SERVICE_ACCOUNT   = google_service_account.scheduler.email
        WEBHOOK_URLS                = join(",", var.webhook_urls)
        WEBHOOK_TIMEOUT_SECONDS     = tostring(var.webhook_timeout_seconds)
        WEBHOOK_RETRY_HORIZON_HOURS = tostring(var.webhook_retry_horizon_hours)
      }
      secret_env = {
        WEBHOOK_SECRETS = local.webhook_secret
      }
    }
    "vendor-api" = {
      description     = "The vendor API for your app (entitlements, tenants, usage, events): public, every request needs an API key."
      entry_point     = "gcpVendorApi"
      timeout_seconds = 60
      max_instances   = 10
      env = {
        NODE_ENV                    = "production"
        STORE_BACKEND               = "firestore"
        FIRESTORE_PROJECT_ID        = var.project_id
        FIRESTORE_DATABASE_ID       = google_firestore_database.this.name
        EVENT_RETENTION_DAYS        = tostring(var.event_retention_days)
        LOG_LEVEL                   = var.log_level
        VENDOR_API_KEYS             = join(",", var.vendor_api_keys)
        MAX_REQUEST_BYTES           = tostring(var.max_request_bytes)
        USAGE_METRICS               = jsonencode(var.usage_metrics)
        WEBHOOK_URLS                = join(",", var.webhook_urls)
        WEBHOOK_TIMEOUT_SECONDS     = tostring(var.webhook_timeout_seconds)
        WEBHOOK_RETRY_HORIZON_HOURS = tostring(var.webhook_retry_horizon_hours)
      }
      secret_env = {
        WEBHOOK_SECRETS = local.webhook_secret
      }
    }
    "webhooks" = {
      description = "Every minute: delivers the vendor events that are due to webhook_urls, with backoff."
      entry_point = "gcpWebhooks"
      # The longest run: 45 s of claiming, then the batch under way (ten events of one purchase,
      # sent one after the other, each up to webhook_timeout_seconds, 60 at most) still finishes.
      timeout_seconds = 900
      # Cloud Scheduler never overlaps its own runs; one instance keeps anything else from racing.
      max_instances = 1
      env = {
        NODE_ENV                    = "production"
        STORE_BACKEND               = "firestore"
        FIRESTORE_PROJECT_ID        = var.project_id
        FIRESTORE_DATABASE_ID       = google_firestore_database.this.name
        EVENT_RETENTION_DAYS        = tostring(var.event_retention_days)
        LOG_LEVEL                   = var.log_level
        SCHEDULER_AUDIENCE          = local.function_urls["webhooks"]
        SCHEDULER_SERVICE_ACCOUNT   = google_service_account.scheduler.email
        WEBHOOK_URLS                = join(",", var.webhook_urls)
        WEBHOOK_TIMEOUT_SECONDS     = tostring(var.webhook_timeout_seconds)
        WEBHOOK_RETRY_HORIZON_HOURS = tostring(var.webhook_retry_horizon_hours)
      }
      secret_env = {
        WEBHOOK_SECRETS = local.webhook_secret
      }
    }
    "retention" = {
      description     = "Daily: purges the personal data of purchases that ended longer ago than the retention."
      entry_point     = "gcpRetention"
      timeout_seconds = 540
      max_instances   = 1
      env = {
        NODE_ENV                     = "production"
        STORE_BACKEND                = "firestore"
        FIRESTORE_PROJECT_ID         = var.project_id
        FIRESTORE_DATABASE_ID        = google_firestore_database.this.name
        EVENT_RETENTION_DAYS         = tostring(var.event_retention_days)
        LOG_LEVEL                    = var.log_level
        SCHEDULER_AUDIENCE           = local.function_urls["retention"]
        SCHEDULER_SERVICE_ACCOUNT    = google_service_account.scheduler.email
        PERSONAL_DATA_RETENTION_DAYS = tostring(var.personal_data_retention_days)
      }
      secret_env = {}
    }
  }

  # WEBHOOK_SECRETS of every function that writes. Null without webhook_secret_id: no URL to sign
  # for, so no secret to read.
  webhook_secret = {
    secret  = var.webhook_secret_id
    version = var.webhook_secret_version
  }

  # The functions that read the webhook secret, when there is one.
  webhook_secret_readers = var.webhook_secret_id == null ? [] : [
    for key, fn in local.functions : key if contains(keys(fn.secret_env), "WEBHOOK_SECRETS")
  ]
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
