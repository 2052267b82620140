# The functions: bundles from `npm run build:gcp` zipped into a bucket, built by Cloud Build as a
# dedicated service account, run as one service account each.

resource "google_storage_bucket" "sources" {
  project                     = var.project_id
  name                        = local.source_bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # It holds nothing but zips Terraform uploads again on the next apply.
  force_destroy = true

  depends_on = [google_project_service.apis]
}

data "archive_file" "source" {
  for_each = local.function_names

  type        = "zip"
  source_dir  = "${local.dist_dir}/${each.key}"
  output_path = "${path.module}/.build/${each.key}.zip"

  lifecycle {
    precondition {
      condition     = fileexists("${local.dist_dir}/${each.key}/index.js") && fileexists("${local.dist_dir}/${each.key}/package.json")
      error_message = "No bundle in ${local.dist_dir}/${each.key}: run `npm run build:gcp` first."
    }
  }
}

resource "google_storage_bucket_object" "source" {
  for_each = local.function_names

  bucket = google_storage_bucket.sources.name
  # The hash in the name makes a changed bundle a changed object, which redeploys the function.
  name   = "${each.key}/${data.archive_file.source[each.key].output_md5}.zip"
  source = data.archive_file.source[each.key].output_path
}

# Cloud Build runs as this account instead of the Compute Engine default account, which new
# projects no longer grant the roles a build needs. The roles are those of the provider's tested
# `cloudfunctions2_basic_builder` example: write logs, push the image, read the staged source.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "marketplace-connector: builds the functions"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectAdmin",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

# New grants take a while to reach Cloud Build; a build started at once fails on the source read.
resource "time_sleep" "build_iam" {
  create_duration = "60s"

  depends_on = [google_project_iam_member.build]
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = local.function_names[each.key]
  description = each.value.description

  build_config {
    runtime         = "nodejs22"
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source[each.key].name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.function[each.key].email
    available_memory               = "512M"
    timeout_seconds                = each.value.timeout_seconds
    min_instance_count             = 0
    max_instance_count             = each.value.max_instances
    all_traffic_on_latest_revision = true
    # Reachable from the internet, like every Pub/Sub push and Scheduler target; who may invoke
    # each function is decided by the run.invoker grants below.
    ingress_settings = "ALLOW_ALL"
    # Blank values are left out: the code treats a blank variable as unset anyway, and the API
    # would report it back differently on every plan.
    environment_variables = { for key, value in each.value.env : key => value if value != "" }

    # A secret without an id (the webhook secret while no webhook URL is set) is left out.
    dynamic "secret_environment_variables" {
      for_each = { for key, value in each.value.secret_env : key => value if value.secret != null }

      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.approval_policy != "plans" || length(var.approval_plans) > 0
      error_message = "approval_policy = \"plans\" needs at least one plan in approval_plans."
    }

    precondition {
      condition     = length(var.webhook_urls) == 0 || var.webhook_secret_id != null
      error_message = "webhook_urls needs webhook_secret_id: every webhook is signed with the secrets it holds."
    }
  }

  depends_on = [
    google_project_service.apis,
    time_sleep.build_iam,
    google_secret_manager_secret_iam_member.handoff,
    google_secret_manager_secret_iam_member.webhook,
  ]
}

check "function_urls" {
  assert {
    condition     = alltrue([for key, fn in google_cloudfunctions2_function.fn : fn.url == local.function_urls[key]])
    error_message = "A function URL differs from the one its OIDC audience was set to (local.function_urls): update the locals."
  }
}

# Who may invoke what. Cloud Run functions (gen2) are Cloud Run services, so invocation is
# roles/run.invoker on the service, which has the function's name.

# Only Pub/Sub, signing as the push service account, delivers marketplace events.
resource "google_cloud_run_v2_service_iam_member" "events_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["events"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

# Only Cloud Scheduler, signing as the scheduler service account, starts a usage report, a
# webhook delivery run or a retention run.
resource "google_cloud_run_v2_service_iam_member" "usage_report_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["usage-report"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_v2_service_iam_member" "webhooks_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["webhooks"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_run_v2_service_iam_member" "retention_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["retention"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# Public on purpose: the buyer's browser posts Google's signup form (x-gcp-marketplace-token) here
# and carries no Google identity we could check at the IAM layer. The function authenticates the
# request itself by verifying the JWT's signature, issuer, audience and expiry.
resource "google_cloud_run_v2_service_iam_member" "signup_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["signup"].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Public on purpose: your app calls it from wherever it runs, with no Google identity. The function
# authenticates every request itself: an API key whose SHA-256 is in VENDOR_API_KEYS, with the
# scope the route needs.
resource "google_cloud_run_v2_service_iam_member" "vendor_api_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fn["vendor-api"].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
