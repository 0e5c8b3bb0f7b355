CREATE TABLE `artifact_tasks` (
  `UUID` varchar(191) NOT NULL,
  `ArtifactID` varchar(191) NOT NULL,
  `TaskID` varchar(191) NOT NULL,
  `Type` int(11) NOT NULL,
  `Iteration` bigint(20) NOT NULL DEFAULT -1,
  `RunUUID` varchar(191) NOT NULL,
  `Producer` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`Producer`)),
  `ArtifactKey` varchar(191) NOT NULL DEFAULT '',
  PRIMARY KEY (`UUID`),
  UNIQUE KEY `UniqueLink` (`ArtifactID`,`TaskID`,`Type`,`Iteration`,`ArtifactKey`),
  KEY `idx_link_artifact_id` (`ArtifactID`),
  KEY `idx_link_task_run` (`TaskID`,`RunUUID`),
  KEY `idx_link_run_id` (`RunUUID`),
  CONSTRAINT `fk_artifact_tasks_artifacts` FOREIGN KEY (`ArtifactID`) REFERENCES `artifacts` (`UUID`) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_artifact_tasks_runs` FOREIGN KEY (`RunUUID`) REFERENCES `run_details` (`UUID`) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT `fk_artifact_tasks_task_run` FOREIGN KEY (`TaskID`, `RunUUID`) REFERENCES `tasks` (`UUID`, `RunUUID`) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci
