# Usage is reported hourly (Google's usage-reporting guide and codelab report every hour): each run
# sends the hours that have closed and were not sent yet, so a missed run is caught up by the next.

resource "google_cloud_scheduler_job" "usage_report" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-usage-report-hourly"
  description      = "Reports closed usage hours to Service Control (marketplace-connector)."
  schedule         = "0 * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "600s" # the function's 540 s timeout, plus a start-up margin

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = local.function_urls["usage-report"]
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.function_urls["usage-report"]
    }
  }

  # The first run must find the function deployed and the scheduler allowed to invoke it.
  depends_on = [
    google_project_service.apis,
    google_cloudfunctions2_function.fn,
    google_cloud_run_v2_service_iam_member.usage_report_invoker,
  ]
}

# Webhooks: every function that writes tries to deliver what it wrote at once; this run delivers
# what is still due (first tries that failed, retries whose backoff has passed). Cloud Scheduler
# never starts a run before the previous one has finished, and a failed run is not retried: the
# next one, a minute later, picks up the same events.
resource "google_cloud_scheduler_job" "webhooks" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-webhooks-every-minute"
  description      = "Delivers due vendor events to the webhook URLs (marketplace-connector)."
  schedule         = "* * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "920s" # the function's 900 s timeout, plus a start-up margin

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = local.function_urls["webhooks"]
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.function_urls["webhooks"]
    }
  }

  depends_on = [
    google_project_service.apis,
    google_cloudfunctions2_function.fn,
    google_cloud_run_v2_service_iam_member.webhooks_invoker,
  ]
}

# Retention: once a day, at a quiet hour, the personal data of purchases that ended longer ago than
# personal_data_retention_days is purged (an anonymised audit record stays). A run that fails is
# safe to repeat: what was purged stays purged.
resource "google_cloud_scheduler_job" "retention" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-retention-daily"
  description      = "Purges the personal data of purchases ended past the retention (marketplace-connector)."
  schedule         = "30 3 * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "600s" # the function's 540 s timeout, plus a start-up margin

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    uri         = local.function_urls["retention"]
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.function_urls["retention"]
    }
  }

  depends_on = [
    google_project_service.apis,
    google_cloudfunctions2_function.fn,
    google_cloud_run_v2_service_iam_member.retention_invoker,
  ]
}
