import type { DeploymentStrategy } from './store.js';

/** The AWS-authored strategies every account has (AppConfig User Guide, "Predefined deployment strategies"). */
export const PREDEFINED_STRATEGIES: DeploymentStrategy[] = [
  {
    Id: 'AppConfig.AllAtOnce',
    Name: 'AppConfig.AllAtOnce',
    Description: 'Quick',
    DeploymentDurationInMinutes: 0,
    GrowthType: 'LINEAR',
    GrowthFactor: 100,
    FinalBakeTimeInMinutes: 10,
    ReplicateTo: 'NONE',
  },
  {
    Id: 'AppConfig.Linear50PercentEvery30Seconds',
    Name: 'AppConfig.Linear50PercentEvery30Seconds',
    Description: 'Test/Demo',
    DeploymentDurationInMinutes: 1,
    GrowthType: 'LINEAR',
    GrowthFactor: 50,
    FinalBakeTimeInMinutes: 1,
    ReplicateTo: 'NONE',
  },
  {
    Id: 'AppConfig.Canary10Percent20Minutes',
    Name: 'AppConfig.Canary10Percent20Minutes',
    Description: 'AWS Recommended',
    DeploymentDurationInMinutes: 20,
    GrowthType: 'EXPONENTIAL',
    GrowthFactor: 10,
    FinalBakeTimeInMinutes: 10,
    ReplicateTo: 'NONE',
  },
  {
    Id: 'AppConfig.Linear20PercentEvery6Minutes',
    Name: 'AppConfig.Linear20PercentEvery6Minutes',
    Description: 'AWS Recommended',
    DeploymentDurationInMinutes: 30,
    GrowthType: 'LINEAR',
    GrowthFactor: 20,
    FinalBakeTimeInMinutes: 30,
    ReplicateTo: 'NONE',
  },
];
