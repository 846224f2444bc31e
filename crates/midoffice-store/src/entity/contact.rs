//! A contact (klantcontact): its start, and once completed, its end.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant: String,
    pub party_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub ambiguous: bool,
    pub channel: String,
    pub direction: String,
    pub started_at: i64,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub case_reference: Option<String>,
    /// Column named before "completion" was the word; renaming it needs no migration.
    #[sea_orm(column_name = "case_chosen_at_end")]
    pub case_chosen_at_completion: bool,
    pub recorded: bool,
    pub context_seen: bool,
    pub ended_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub outcome: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub story: Option<String>,
    #[sea_orm(column_name = "end_department")]
    pub completion_department: Option<String>,
    #[sea_orm(column_name = "end_topic")]
    pub completion_topic: Option<String>,
    pub referred_kind: Option<String>,
    pub referred_value: Option<String>,
    pub due_at: Option<i64>,
    pub story_repeated: Option<bool>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
