# An ECS task definition for one service, in plain Terraform, from the kms-secrets stack's outputs: the
# service's task role (it has the service's read policy, and the key policy names it) and the non-secret
# variables the runtime needs. The container starts through `kms-secrets exec`, which loads the secrets
# into the app's environment and then runs the command.
#
#   npm run cdktf -- deploy staging              # the stack first: it writes state/staging.tfstate
#   terraform -chdir=examples/terraform init
#   terraform -chdir=examples/terraform apply -var env=staging -var service=api -var image=123.dkr.ecr.eu-west-1.amazonaws.com/api:1.4

terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.100" }
  }
}

variable "env" {
  type        = string
  description = "The kms-secrets environment, e.g. staging"
}

variable "service" {
  type        = string
  description = "The service whose secrets the task loads: a directory of secrets/<env>/"
}

variable "image" {
  type        = string
  description = "The app's image; it must hold the kms-secrets runtime (see examples/Dockerfile)"
}

variable "command" {
  type        = list(string)
  default     = ["node", "server.js"]
  description = "The app's command, run by kms-secrets exec once the secrets are loaded"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "stack_state" {
  type        = string
  default     = ""
  description = "The stack's local state file; default: state/<env>.tfstate of this repository. With an S3 backend, use terraform_remote_state's s3 backend instead."
}

provider "aws" {
  region = var.region
}

data "terraform_remote_state" "secrets" {
  backend = "local"
  config = {
    path = var.stack_state != "" ? var.stack_state : "${path.module}/../../state/${var.env}.tfstate"
  }
}

locals {
  # service_<service>: { role_arn, policy_arn, environment = { SECRETS_BUCKET, SECRETS_ENV, SECRETS_SERVICES, … } }
  secrets = data.terraform_remote_state.secrets.outputs["service_${replace(var.service, "-", "_")}"]
}

resource "aws_ecs_task_definition" "app" {
  family        = "${var.service}-${var.env}"
  task_role_arn = local.secrets.role_arn
  container_definitions = jsonencode([{
    name       = var.service
    image      = var.image
    essential  = true
    memory     = 512
    entryPoint = ["kms-secrets", "exec", "--"]
    command    = var.command
    # Names and places only: no secret is in the task definition.
    environment = [for name in sort(keys(local.secrets.environment)) : { name = name, value = local.secrets.environment[name] }]
  }])
}

output "task_definition_arn" {
  value = aws_ecs_task_definition.app.arn
}

output "task_role_arn" {
  value = local.secrets.role_arn
}
