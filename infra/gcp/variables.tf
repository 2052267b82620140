# The meaning and default of every function variable is in shared/config/env.ts; the variables
# below feed them, and a test (terraform.test.ts) holds the functions to functions/gcp/manifest.ts.

variable "project_id" {
  description = "Project that runs the functions and holds Firestore (normally the listing project)."
  type        = string
}

variable "region" {
  description = "Region of the functions, the source bucket and the Cloud Scheduler job."
  type        = string
  default     = "us-central1"
}

variable "name_prefix" {
  description = "Prefix of every resource name, so that several deployments can share a project."
  type        = string
  default     = "mc"

  validation {
    # Service account ids are 6-30 characters: "<prefix>-usage-report" must fit.
    condition     = can(regex("^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$", var.name_prefix))
    error_message = "name_prefix: 1-12 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "provider_id" {
  description = "Partner Procurement provider id (GCP_PROVIDER_ID); `DEMO-<project>` in the codelab."
  type        = string

  validation {
    condition     = length(trimspace(var.provider_id)) > 0
    error_message = "provider_id is required."
  }
}

variable "marketplace_topic" {
  description = "Google's marketplace topic; null derives projects/cloudcommerceproc-prod/topics/<project_id>."
  type        = string
  default     = null

  validation {
    condition     = var.marketplace_topic == null || can(regex("^projects/[^/]+/topics/[^/]+$", var.marketplace_topic))
    error_message = "marketplace_topic must look like projects/<project>/topics/<topic>."
  }
}

variable "subscriber_service_account" {
  description = "Email of the service account linked in Producer Portal to subscribe to the topic; null uses your own credentials."
  type        = string
  default     = null
}

variable "product_domains" {
  description = "Product domains a signup JWT `aud` may name (PRODUCT_DOMAINS)."
  type        = list(string)

  validation {
    condition     = length(var.product_domains) > 0 && alltrue([for d in var.product_domains : length(trimspace(d)) > 0 && !strcontains(d, ",")])
    error_message = "product_domains: at least one domain, none empty or holding a comma."
  }
}

variable "approval_policy" {
  description = "How purchases and plan changes are approved: auto, plans (only approval_plans) or manual."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "plans", "manual"], var.approval_policy)
    error_message = "approval_policy must be auto, plans or manual."
  }
}

variable "approval_plans" {
  description = "Plans approved under approval_policy = \"plans\" (APPROVAL_PLANS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.approval_plans : length(trimspace(p)) > 0 && !strcontains(p, ",")])
    error_message = "approval_plans: no empty plan, no plan holding a comma."
  }
}

variable "signup_message" {
  description = "Shown to a buyer whose purchase waits for signup (SIGNUP_MESSAGE); empty keeps the code's default."
  type        = string
  default     = ""
}

variable "onboarding_url" {
  description = "Your app page a signed-up buyer is sent to with a handoff token (ONBOARDING_URL)."
  type        = string

  validation {
    condition     = can(regex("^https://", var.onboarding_url))
    error_message = "onboarding_url must be an https:// URL."
  }
}

variable "handoff_secret_id" {
  description = "Secret Manager secret id (in project_id) holding HANDOFF_SECRET; create it before applying."
  type        = string

  validation {
    # An id, not a value: the secret itself must never pass through Terraform state.
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.handoff_secret_id))
    error_message = "handoff_secret_id is the secret's id (letters, digits, - and _), not its value or full name."
  }
}

variable "handoff_secret_version" {
  description = "Version of the handoff secret the signup function reads; a number pins it."
  type        = string
  default     = "latest"
}

variable "handoff_ttl_seconds" {
  description = "How long a handoff token is valid (HANDOFF_TTL_SECONDS)."
  type        = number
  default     = 300

  validation {
    condition     = var.handoff_ttl_seconds >= 10 && var.handoff_ttl_seconds <= 3600 && floor(var.handoff_ttl_seconds) == var.handoff_ttl_seconds
    error_message = "handoff_ttl_seconds must be a whole number from 10 to 3600."
  }
}

variable "usage_service_name" {
  description = "Service Control service name of the listing (USAGE_SERVICE_NAME), as shown in Producer Portal."
  type        = string

  validation {
    condition     = length(trimspace(var.usage_service_name)) > 0
    error_message = "usage_service_name is required."
  }
}

variable "usage_metrics" {
  description = "Plan → dimension → metric name (USAGE_METRICS), e.g. { pro = { requests = \"example.com/pro_requests\" } }."
  type        = map(map(string))
}

variable "firestore_database_id" {
  description = "Firestore database id (FIRESTORE_DATABASE_ID)."
  type        = string
  default     = "(default)"
}

variable "firestore_location" {
  description = "Firestore location (a region or a multi-region such as nam5); null uses region."
  type        = string
  default     = null
}

variable "event_retention_days" {
  description = "Days inbound messages are kept for dedupe and audit (EVENT_RETENTION_DAYS)."
  type        = number
  default     = 365

  validation {
    condition     = var.event_retention_days >= 1 && var.event_retention_days <= 3650 && floor(var.event_retention_days) == var.event_retention_days
    error_message = "event_retention_days must be a whole number from 1 to 3650."
  }
}

variable "log_level" {
  description = "Lowest level logged (LOG_LEVEL)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "dist_dir" {
  description = "Folder holding the bundles of `npm run build:gcp` (<dist_dir>/<function>/); null is the repository's dist/gcp."
  type        = string
  default     = null
}

variable "source_bucket_name" {
  description = "Bucket created for the zipped function sources; null is <project_id>-<name_prefix>-function-sources."
  type        = string
  default     = null
}

variable "grant_procurement_roles" {
  description = "Grant the functions a custom role with the Procurement permissions they call (see README)."
  type        = bool
  default     = true
}
